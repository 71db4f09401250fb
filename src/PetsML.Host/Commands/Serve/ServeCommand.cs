using System.ComponentModel;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Serve;

/// <summary>
/// <c>petsml serve</c>: the model behind HTTP on this machine, through PetsML.Serving (the same two lines an ASP.NET Core app
/// writes): POST /predict, GET /health, and a page (GET /) where a person drops a photo and sees the answer.
/// </summary>
public sealed class ServeCommand(HostConsole console) : Command<ServeCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--urls <URLS>")]
        [Description("Where to listen, ';'-separated. The default answers this machine only; beyond it, put a reverse proxy in front (docs/serving.md).")]
        [DefaultValue("http://127.0.0.1:5000")]
        public string Urls { get; set; } = "http://127.0.0.1:5000";

        [CommandOption("--top <K>")]
        [Description("Labels per answer, most probable first (a request may ask ?top=K).")]
        [DefaultValue(PetsPredictionOptions.Defaults.Top)]
        public int Top { get; set; } = PetsPredictionOptions.Defaults.Top;

        [CommandOption("--max-upload <BYTES>")]
        [Description("Largest image accepted; larger uploads get 413.")]
        [DefaultValue(PetsPredictionOptions.Defaults.MaxImageBytes)]
        public long MaxUpload { get; set; } = PetsPredictionOptions.Defaults.MaxImageBytes;

        [CommandOption("--concurrency <N>")]
        [Description("Images decoding at once (each holds one decoded image); others wait, up to --queue. Default: the processor count.")]
        public int? Concurrency { get; set; }

        [CommandOption("--max-batch <N>")]
        [Description("Most images in one forward pass: the requests waiting when a pass ends share the next. 1 runs each image alone (the exact bits of a single prediction, lower throughput).")]
        [DefaultValue(PetsPredictionOptions.Defaults.MaxBatchSize)]
        public int MaxBatch { get; set; } = PetsPredictionOptions.Defaults.MaxBatchSize;

        [CommandOption("--queue <N>")]
        [Description("Requests that may wait for a prediction; more get 503.")]
        [DefaultValue(PetsPredictionOptions.Defaults.MaxQueuedRequests)]
        public int Queue { get; set; } = PetsPredictionOptions.Defaults.MaxQueuedRequests;

        [CommandOption("--inference-threads <N>")]
        [Description("libtorch threads for a forward pass. Default: 1 for a pass of one image (the other cores decode), libtorch's default for larger batches.")]
        public int? InferenceThreads { get; set; }

        public override ValidationResult Validate()
        {
            if (InferenceThreads is < 1) return ValidationResult.Error($"--inference-threads must be at least 1; got {InferenceThreads}.");
            if (Top < 1) return ValidationResult.Error($"--top must be at least 1; got {Top}.");
            if (MaxUpload < 1) return ValidationResult.Error($"--max-upload must be at least 1 byte; got {MaxUpload}.");
            if (MaxBatch < 1) return ValidationResult.Error($"--max-batch must be at least 1; got {MaxBatch}.");
            if (Concurrency is < 1) return ValidationResult.Error($"--concurrency must be at least 1; got {Concurrency}.");
            if (Queue < 0) return ValidationResult.Error($"--queue must not be negative; got {Queue}.");
            foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
                if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"), UriKind.Absolute, out var uri) || uri.Scheme != "http")
                    return ValidationResult.Error($"--urls: '{url}' is not an http:// address (TLS belongs to the reverse proxy in front: docs/serving.md).");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.Model))
            throw new BadInputException($"--model: file '{settings.Model}' does not exist (train one with 'petsml train --out {settings.Model}').");
        WebApplication app;
        try { app = Build(settings, logToConsole: true); }
        catch (InvalidDataException e) { throw new BadInputException($"--model: {SavedModel.Printable(e.Message)}", e); }
        using (app as IDisposable)
        {
            if (!Loopback(settings.Urls))
                console.Warn($"--urls {settings.Urls} answers other machines: put a reverse proxy with TLS and its own limits in front (docs/serving.md).");
            app.StartAsync(cancellationToken).GetAwaiter().GetResult();
            var predictor = app.Services.GetRequiredService<PetsPredictor>();
            console.Human(settings.Json).MarkupLine($"Serving [bold]{Markup.Escape(settings.Model)}[/] ({predictor.ClassNames.Count} classes) on {Markup.Escape(string.Join(", ", app.Urls))}: open it in a browser, or POST an image to /predict. Ctrl+C stops.");
            try { app.WaitForShutdownAsync(cancellationToken).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
            app.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        return ExitCodes.Success;
    }

    /// <summary>The web app <c>petsml serve</c> runs (the tests start it on a free port).</summary>
    public static WebApplication Build(Settings settings, bool logToConsole)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(settings.Urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = settings.MaxUpload + 1;
            kestrel.Limits.MaxConcurrentConnections = 1000;
        });
        builder.Logging.ClearProviders();
        if (logToConsole) builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter("Microsoft", LogLevel.Warning);
        // Ctrl+C belongs to petsml's own handler (Program.cs), which cancels the command's token.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.AddPetsMLPredictions(settings.Model, o =>
        {
            o.Top = settings.Top;
            o.MaxImageBytes = settings.MaxUpload;
            o.MaxQueuedRequests = settings.Queue;
            o.MaxBatchSize = settings.MaxBatch;
            if (settings.Concurrency is int n) o.MaxConcurrentPredictions = n;
            o.InferenceThreads = settings.InferenceThreads;
            o.InferencePrecision = ComputeFlags.Precision(settings.Precision);
            o.InferenceChannelsLast = ComputeFlags.ChannelsLast(settings.ChannelsLast);
        });
        var app = builder.Build();
        // Fail at build, not at the first request: the model loads here.
        app.Services.GetRequiredService<PetsPredictor>();
        app.Use(async (http, next) =>
        {
            http.Response.Headers.XContentTypeOptions = "nosniff";
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
            await next(http);
        });
        app.MapPetsMLPredictions("/predict");
        app.MapGet("/health", (PetsPredictor predictor) => Results.Json(new { status = "ok", modelVersion = predictor.ModelVersion, classes = predictor.ClassNames }));
        app.MapGet("/", (HttpContext http) =>
        {
            http.Response.Headers.ContentSecurityPolicy = ServePage.ContentSecurityPolicy;
            return Results.Content(ServePage.Html, "text/html; charset=utf-8");
        });
        return app;
    }

    static bool Loopback(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries).All(url =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))));

    /// <summary>A host lifetime that leaves Ctrl+C and SIGTERM to petsml: the command's token stops the server.</summary>
    sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
