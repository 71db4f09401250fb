namespace PetsML.Host.Download;

/// <summary>Where a download stands: bytes on disk (including a resumed part), the total when the server said it, and the rate of this attempt.</summary>
public readonly record struct DownloadProgress(long Bytes, long? TotalBytes, double BytesPerSecond);
