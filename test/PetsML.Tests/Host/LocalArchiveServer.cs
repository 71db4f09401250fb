using System.Net;
using System.Net.Sockets;

namespace PetsML.Tests.Host;

/// <summary>
/// An HttpListener on 127.0.0.1 (a free port) serving one byte array with HTTP Range support. It can cut its first
/// response after some bytes (the connection is aborted, as a dropped network would), records every request's Range
/// header, and stops itself on Dispose or after <see cref="Lifetime"/>.
/// </summary>
internal sealed class LocalArchiveServer : IDisposable
{
    static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    readonly HttpListener _listener;
    readonly byte[] _content;
    readonly CancellationTokenSource _stop = new(Lifetime);
    readonly Task _loop;
    int _requests;

    public LocalArchiveServer(byte[] content, string fileName, long? cutFirstResponseAfter = null)
    {
        _content = content;
        CutFirstResponseAfter = cutFirstResponseAfter;
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                _listener = listener;
                Url = $"http://127.0.0.1:{port}/{fileName}";
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close(); // the port was taken between probing and binding: try another
            }
        }
        _loop = Task.Run(ServeAsync);
    }

    public string Url { get; }
    public long? CutFirstResponseAfter { get; }

    /// <summary>The Range header of each request, in order ("" when absent).</summary>
    public List<string> Ranges { get; } = [];

    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync().WaitAsync(_stop.Token); }
            catch (Exception) { return; } // stopped
            try { await HandleAsync(context); }
            catch (Exception) { /* the client went away: serve the next one */ }
        }
    }

    async Task HandleAsync(HttpListenerContext context)
    {
        int request = Interlocked.Increment(ref _requests);
        var range = context.Request.Headers["Range"] ?? "";
        lock (Ranges) Ranges.Add(range);
        var response = context.Response;
        long from = 0;
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= _content.Length)
            {
                response.StatusCode = 416;
                response.AddHeader("Content-Range", $"bytes */{_content.Length}");
                response.Close();
                return;
            }
            response.StatusCode = 206;
            response.AddHeader("Content-Range", $"bytes {from}-{_content.Length - 1}/{_content.Length}");
        }
        response.ContentLength64 = _content.Length - from;
        response.ContentType = "application/gzip";
        if (request == 1 && CutFirstResponseAfter is { } cut)
        {
            await response.OutputStream.WriteAsync(_content.AsMemory((int)from, (int)(cut - from)));
            await response.OutputStream.FlushAsync();
            response.Abort(); // drop the connection mid-body
            return;
        }
        await response.OutputStream.WriteAsync(_content.AsMemory((int)from));
        response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
