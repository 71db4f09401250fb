using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace PetsML.Host.Download;

/// <summary>
/// Downloads one URL to a file through a <c>.part</c> file: an existing part is continued with an HTTP Range request
/// (a server that ignores Range restarts it), a connection lost mid-body is retried from where it stopped (at most
/// <see cref="MaxAttempts"/> requests), the size is checked against Content-Length / Content-Range, and the SHA-256
/// is computed and, when one is expected, compared. Only a complete, verified file is renamed to its final name.
/// </summary>
public sealed class ResumableDownloader(HttpClient http)
{
    readonly HttpClient _http = http ?? throw new ArgumentNullException(nameof(http));

    /// <summary>Requests per download, the first included (default 4).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>The part file of <paramref name="destination"/>.</summary>
    public static string PartPath(string destination) => destination + ".part";

    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/>; expectedSha256 is the hex SHA-256 the file must have, or null to only compute it.</summary>
    /// <exception cref="OfflineException">No answer from the server on the first request.</exception>
    /// <exception cref="InvalidDataException">Size or SHA-256 mismatch (the bad file is deleted so the next run starts over).</exception>
    /// <exception cref="IOException">The connection kept breaking; the part is kept for a later resume.</exception>
    public async Task<DownloadResult> DownloadAsync(Uri url, string destination, string? expectedSha256 = null,
        IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        if (expectedSha256 is not null && !IsSha256(expectedSha256))
            throw new ArgumentException($"Expected SHA-256 must be 64 hex digits; got '{expectedSha256}'.", nameof(expectedSha256));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        var part = PartPath(destination);
        long resumedFrom = File.Exists(part) ? new FileInfo(part).Length : 0;
        long? total = null;
        int attempt = 0;
        while (true)
        {
            attempt++;
            try
            {
                total = await FetchAsync(url, part, progress, cancellationToken);
                long have = new FileInfo(part).Length;
                if (total is { } t && have != t)
                    throw new HttpIOException(HttpRequestError.ResponseEnded, $"the server sent {have} of {t} bytes");
                break;
            }
            catch (HttpRequestException e) when (IsUnreachable(e) && !File.Exists(part))
            {
                throw new OfflineException(url, e.InnerException?.Message ?? e.Message, e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                // A broken connection: try again from the bytes already on disk.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
            catch (HttpRequestException e) when (IsUnreachable(e))
            {
                throw new OfflineException(url, e.InnerException?.Message ?? e.Message, e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                long have = File.Exists(part) ? new FileInfo(part).Length : 0;
                throw new IOException($"download of {url} interrupted after {have} bytes ({e.Message}); run again to resume from {part}", e);
            }
        }

        var sha = await Sha256Async(part, cancellationToken);
        bool verified = false;
        if (expectedSha256 is not null)
        {
            if (!sha.Equals(expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(part);
                throw new InvalidDataException($"sha256 mismatch for {url}: expected {expectedSha256.ToLowerInvariant()}, got {sha}; the file was deleted.");
            }
            verified = true;
        }
        File.Move(part, destination, overwrite: true);
        return new DownloadResult(destination, new FileInfo(destination).Length, sha, verified, resumedFrom, attempt);
    }

    /// <summary>One request; appends to the part file. Returns the full size when the server told it.</summary>
    async Task<long?> FetchAsync(Uri url, string part, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        long? total;
        bool append;
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // Range past the end: the part is already whole if the server's size says so; otherwise start over.
            var size = response.Content.Headers.ContentRange?.Length;
            if (size == have) return size;
            File.Delete(part);
            throw new HttpIOException(HttpRequestError.InvalidResponse, $"the server refused to resume at byte {have}; starting over");
        }
        response.EnsureSuccessStatusCode();
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            var range = response.Content.Headers.ContentRange;
            if (range?.From != have)
                throw new InvalidDataException($"{url}: asked for bytes from {have}, the server sent a range from {range?.From}.");
            total = range.Length;
            append = true;
        }
        else
        {
            total = response.Content.Headers.ContentLength;
            append = false; // 200: the whole file again
        }

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await using var file = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        var buffer = new byte[1 << 16];
        long written = append ? have : 0, thisAttempt = 0;
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            await file.WriteAsync(buffer.AsMemory(0, read), ct);
            written += read;
            thisAttempt += read;
            if (progress is not null && clock.Elapsed - lastReport > TimeSpan.FromMilliseconds(100))
            {
                lastReport = clock.Elapsed;
                progress.Report(new DownloadProgress(written, total, thisAttempt / Math.Max(1e-3, clock.Elapsed.TotalSeconds)));
            }
        }
        progress?.Report(new DownloadProgress(written, total, thisAttempt / Math.Max(1e-3, clock.Elapsed.TotalSeconds)));
        return total;
    }

    static bool IsUnreachable(HttpRequestException e) =>
        e.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.ProxyTunnelError
        || e.InnerException is SocketException;

    static bool IsSha256(string hex) => hex.Length == 64 && hex.All(Uri.IsHexDigit);

    /// <summary>The lower-case hex SHA-256 of a file.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken = default)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
