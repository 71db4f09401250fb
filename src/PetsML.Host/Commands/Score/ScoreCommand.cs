using System.ComponentModel;
using System.Diagnostics;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Host.Scoring;
using PetsML.Onnx.Scoring;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Score;

/// <summary>
/// <c>petsml score</c>: every image under a folder (recursively) to a predictions CSV, in batches with bounded memory,
/// through the model .zip (TorchSharp) or its exported .onnx (ONNX Runtime). Run it again to resume.
/// </summary>
public sealed class ScoreCommand(HostConsole console) : Command<ScoreCommand.Settings>
{
    /// <summary>Bad files named one by one on the console; the rest are counted (and all are in the JSON up to the library's cap).</summary>
    const int BadFilesShown = 20;

    public sealed class Settings : ModelSettings
    {
        [CommandOption("--data <DIR>")]
        [Description("Folder of images to score, read recursively.")]
        public string? Data { get; set; }

        [CommandOption("--out <FILE>")]
        [Description("Predictions CSV (path,label,probability,label_2,probability_2,...). Rows already in it are kept and skipped.")]
        [DefaultValue("predictions.csv")]
        public string Out { get; set; } = "predictions.csv";

        [CommandOption("--batch-size <N>")]
        [Description("Images decoded and scored together.")]
        [DefaultValue(32)]
        public int BatchSize { get; set; } = 32;

        [CommandOption("--top-k <K>")]
        [Description("Most probable classes written per image.")]
        [DefaultValue(3)]
        public int TopK { get; set; } = 3;

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Data)) return ValidationResult.Error("--data must name the folder of images to score.");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out must name a file.");
            if (BatchSize < 1) return ValidationResult.Error($"--batch-size must be at least 1; got {BatchSize}.");
            if (TopK < 1) return ValidationResult.Error($"--top-k must be at least 1; got {TopK}.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        if (!Directory.Exists(settings.Data)) throw new BadInputException($"--data: folder '{settings.Data}' does not exist.");
        using var model = Open(settings);
        var options = new BatchScoreOptions { BatchSize = settings.BatchSize, TopK = settings.TopK };
        int shown = 0;
        var lastLine = Stopwatch.StartNew();
        var progress = new Reporter(p =>
        {
            foreach (var bad in p.NewBad)
                if (shown++ < BadFilesShown) console.Warn($"skipped {bad.Path}: {bad.Reason}");
            if (lastLine.Elapsed.TotalSeconds >= 2 || p.Done == p.Total)
            {
                human.MarkupLineInterpolated($"{p.Done}/{p.Total} images, {p.ImagesPerSecond:0.0} images/s, {p.Bad} bad");
                lastLine.Restart();
            }
        });
        BatchScoreResult result;
        try { result = BatchScorer.ScoreFolder(model, settings.Data!, settings.Out, options, progress, cancellationToken); }
        catch (InvalidDataException e) { throw new BadInputException($"--out: {e.Message}", e); }
        catch (OperationCanceledException)
        {
            console.Warn($"Rows of the finished batches are in {settings.Out}; run the same command again to resume.");
            throw;
        }

        if (result.RepairedLastLine) console.Warn($"{settings.Out}: cut a half-written last line left by an interrupted run.");
        if (result.BadCount > BadFilesShown) console.Warn($"... and {result.BadCount - BadFilesShown} more bad files (all counted; --json lists them).");
        human.MarkupLineInterpolated(
            $"Scored {result.Written} images with {model.Engine} in {result.Elapsed.TotalSeconds:0.0} s ({result.ImagesPerSecond:0.0} images/s) into [bold]{result.CsvPath}[/]; {result.AlreadyWritten} already there, {result.BadCount} bad files skipped.");
        if (settings.Json)
            console.WriteJson(new
            {
                command = "score",
                model = settings.Model,
                engine = model.Engine,
                data = settings.Data,
                @out = result.CsvPath,
                total = result.Total,
                written = result.Written,
                alreadyWritten = result.AlreadyWritten,
                badCount = result.BadCount,
                bad = result.Bad.Select(b => new { path = b.Path, reason = b.Reason }),
                imagesPerSecond = result.ImagesPerSecond,
                seconds = result.Elapsed.TotalSeconds,
            });
        return ExitCodes.Success;
    }

    /// <summary>A .zip (starts with "PK") through TorchSharp with --precision/--channels-last; anything else as an exported ONNX file.</summary>
    static IImageBatchClassifier Open(Settings settings)
    {
        if (!File.Exists(settings.Model))
            throw new BadInputException($"--model: file '{settings.Model}' does not exist (a model .zip from 'petsml train' or a .onnx from 'petsml export').");
        Span<byte> magic = stackalloc byte[2];
        using (var stream = File.OpenRead(settings.Model))
            magic = magic[..stream.Read(magic)];
        if (magic.SequenceEqual("PK"u8))
        {
            var saved = SavedModel.Load(new MLContext(seed: 0), settings);
            return new SavedModelClassifier(saved, TorchBatchClassifier.FromPipeline(saved.Model));
        }
        try { return new OnnxBatchClassifier(settings.Model); }
        catch (InvalidDataException e) { throw new BadInputException($"--model: {e.Message}", e); }
    }

    /// <summary>The TorchSharp classifier together with the loaded .zip it belongs to, disposed together.</summary>
    sealed class SavedModelClassifier(SavedModel saved, TorchBatchClassifier inner) : IImageBatchClassifier
    {
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public PetsML.Onnx.Export.OnnxPreprocessing Preprocessing => inner.Preprocessing;
        public string Engine => inner.Engine;
        public float? UnknownThreshold => inner.UnknownThreshold;
        public ImageBatchScores Predict(TorchSharp.torch.Tensor presized) => inner.Predict(presized);

        public void Dispose()
        {
            inner.Dispose();
            saved.Dispose();
        }
    }

    /// <summary>Reports synchronously on the scoring thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    sealed class Reporter(Action<BatchScoreProgress> report) : IProgress<BatchScoreProgress>
    {
        public void Report(BatchScoreProgress value) => report(value);
    }
}
