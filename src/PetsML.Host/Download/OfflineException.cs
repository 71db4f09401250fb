namespace PetsML.Host.Download;

/// <summary>The server could not be reached at all (DNS failure, connection refused, timeout before any answer).</summary>
public sealed class OfflineException(Uri url, string reason, Exception inner)
    : Exception($"offline: could not reach {url.Host} ({reason})", inner)
{
    public Uri Url { get; } = url;
}
