namespace PetsML.Host.Download;

/// <summary>A finished download: the file, its size, its SHA-256 (lower-case hex), whether the expected hash was checked, and the bytes resumed from an earlier part.</summary>
public sealed record DownloadResult(string Path, long Bytes, string Sha256, bool Sha256Verified, long ResumedFrom, int Attempts);
