using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PetsML.Host.Commands.Review;

/// <summary>
/// The web app of <c>petsml review</c>: the page, the photos, their heatmaps, apply and undo. Every request must carry
/// the random token of the address printed at start (compared in constant time); bodies are at most
/// <see cref="MaxRequestBytes"/>; every refusal is a 4xx JSON <c>{"error": ...}</c>, and nothing else (no stack trace) leaves the server.
/// </summary>
internal static class ReviewServer
{
    public const long MaxRequestBytes = 1L << 20;
    const string TokenHeader = "X-Review-Token";

    /// <summary>A new random token: 32 bytes from the system's cryptographic generator, as hex.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static WebApplication Build(ReviewSession session, string urls, string token, IHeatmapSource heatmaps, Action<string>? log)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxConcurrentConnections = 100;
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        var app = builder.Build();
        var expected = Encoding.UTF8.GetBytes(token);

        app.Use(async (http, next) =>
        {
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
            http.Response.Headers.CacheControl = "no-store";
            string given = http.Request.Query["token"].FirstOrDefault() ?? http.Request.Headers[TokenHeader].FirstOrDefault() ?? "";
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected))
            {
                await Error(http, 401, "missing or wrong token: open the address 'petsml review' printed.");
                return;
            }
            try { await next(http); }
            catch (ReviewException e) { await Error(http, e.StatusCode, e.Message); }
            catch (BadHttpRequestException e) { await Error(http, e.StatusCode, e.StatusCode == 413 ? $"the request is larger than {MaxRequestBytes:N0} bytes." : "bad request."); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log?.Invoke($"review: {e.GetType().Name}: {ReviewPaths.Printable(e.Message)}");
                await Error(http, 500, "the server could not do that; its terminal says why. The journal says where every change stands.");
            }
        });

        app.MapGet("/", (HttpContext http) =>
        {
            http.Response.Headers.ContentSecurityPolicy = ReviewPage.ContentSecurityPolicy;
            return Results.Content(ReviewPage.Html, "text/html; charset=utf-8");
        });
        app.MapGet("/api/state", () => Results.Json(session.State(heatmaps is not NoHeatmaps)));
        app.MapGet("/photo", (string? path) =>
        {
            var (_, full) = session.Photo(path);
            return Results.File(full, ContentType(full));
        });
        app.MapGet("/heatmap", (string? path) =>
        {
            var (photo, full) = session.Photo(path);
            return heatmaps.HeatmapPng(full, photo.Predicted) is { } png
                ? Results.File(png, "image/png")
                : Results.Json(new { error = $"no heatmap for '{photo.Path}'." }, statusCode: 404);
        });
        app.MapPost("/api/apply", async (HttpContext http) =>
        {
            var body = await ReadJson<ApplyRequest>(http);
            var (apply, count) = session.Apply(body.Changes ?? []);
            if (count > 0) log?.Invoke($"review: apply {apply}: {count} change(s) made (journal {session.Journal.JournalPath}).");
            return Results.Json(new { apply, changes = count, state = session.State(heatmaps is not NoHeatmaps) });
        });
        app.MapPost("/api/undo", () =>
        {
            var undone = session.Undo() ?? throw new ReviewException(409, "nothing to undo: no apply in the journal has a change left to revert.");
            log?.Invoke($"review: apply {undone.Apply} undone: {undone.Changes} change(s) reverted.");
            return Results.Json(new { undone = undone.Apply, changes = undone.Changes, state = session.State(heatmaps is not NoHeatmaps) });
        });
        app.MapFallback((HttpContext http) => Error(http, 404, "no such page."));
        return app;
    }

    sealed record ApplyRequest(IReadOnlyList<ChangeRequest>? Changes);

    static async Task<T> ReadJson<T>(HttpContext http)
    {
        if (http.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
            throw new ReviewException(415, "send the changes as application/json.");
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(http.Request.Body, new JsonSerializerOptions(JsonSerializerDefaults.Web) { MaxDepth = 8 }, http.RequestAborted)
                ?? throw new ReviewException(400, "the request body is empty.");
        }
        catch (JsonException e) { throw new ReviewException(400, $"the request body is not the JSON expected ({ReviewPaths.Printable(e.Message)})."); }
    }

    static Task Error(HttpContext http, int status, string message)
    {
        if (http.Response.HasStarted) return Task.CompletedTask;
        http.Response.Clear();
        http.Response.Headers.CacheControl = "no-store";
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new { error = message });
    }

    static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".gif" => "image/gif",
        ".bmp" => "image/bmp",
        ".webp" => "image/webp",
        _ => "image/jpeg",
    };

    /// <summary>A host lifetime that leaves Ctrl+C and SIGTERM to petsml: the command's token stops the server.</summary>
    sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
