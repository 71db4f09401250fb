using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PetsML.Host.Interpretation;
using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Training;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// The training report: <c>index.html</c> (epoch table, metrics, pictures, most confused pairs, calibration with its
/// reliability diagram) and <c>metrics.json</c>.
/// Pictures are PNG files next to the page, referenced by relative paths, so the folder opens in a browser offline
/// and can be moved or zipped as a whole.
/// </summary>
public sealed class HtmlReport
{
    public const string IndexFile = "index.html";
    public const string MetricsFile = "metrics.json";

    public required string Title { get; init; }
    public required string DataFolder { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public required IReadOnlyList<EpochRecord> Epochs { get; init; }
    public required IReadOnlyList<string> EpochPhases { get; init; }
    public required double BaseLearningRate { get; init; }
    public LrFindResult? LrFind { get; init; }
    public required ScoredFolder Validation { get; init; }
    public int MinVal { get; init; } = 1;

    /// <summary>ECE before and after the temperature, and the reliability table, on the validation images; none when null.</summary>
    internal CalibrationReport? Calibration { get; init; }
    internal IReadOnlyList<TopLoss> TopLosses { get; init; } = [];

    /// <summary>Pictures already written into the report folder: (file name, caption).</summary>
    public List<(string File, string Caption)> Pictures { get; } = [];

    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var interpretation = Validation.Interpretation;
        var mostConfused = interpretation.MostConfused(MinVal);
        var metrics = new
        {
            data = DataFolder,
            classes = ClassNames,
            baseLearningRate = BaseLearningRate,
            lrFind = LrFind is null ? null : new { valley = LrFind.Valley, minimum = LrFind.Minimum, steep = LrFind.Steep, slide = LrFind.Slide },
            epochs = Epochs.Select((e, i) => new
            {
                epoch = e.Epoch, phase = EpochPhases[i], trainLoss = e.TrainLoss, validLoss = e.ValidLoss, errorRate = e.ErrorRate, accuracy = e.Accuracy, seconds = e.Elapsed.TotalSeconds,
            }),
            validation = new
            {
                images = interpretation.Count,
                errorRate = interpretation.ErrorRate,
                microAccuracy = Validation.Metrics.MicroAccuracy,
                macroAccuracy = Validation.Metrics.MacroAccuracy,
                logLoss = Validation.Metrics.LogLoss,
                confusionMatrix = ConsoleTables.Rows(interpretation.ConfusionMatrix()),
                mostConfused,
            },
            calibration = Calibration?.ToJson(),
            pictures = Pictures.Select(p => p.File).Concat(Calibration is null ? [] : [InterpretationPictures.ReliabilityFile]),
        };
        File.WriteAllText(Path.Combine(folder, MetricsFile), JsonSerializer.Serialize(metrics, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));

        static string H(string s) => WebUtility.HtmlEncode(s);
        static string F(double? v) => v is { } x ? x.ToString("F6", CultureInfo.InvariantCulture) : "None";
        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{H(Title)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; font-variant-numeric: tabular-nums; }
            th { background: #f0f4f8; } td.text { text-align: left; }
            figure { margin: 1em 0 2em; } figcaption { color: #555; margin-top: 0.3em; }
            img { max-width: 100%; border: 1px solid #ddd; }
            </style></head><body>
            <h1>{{H(Title)}}</h1>
            <p>Data: <code>{{H(DataFolder)}}</code>, {{ClassNames.Count}} classes. Base learning rate {{BaseLearningRate.ToString("0.##e+0", CultureInfo.InvariantCulture)}}.</p>
            <h2>Epochs</h2>
            <table><tr><th>phase</th><th>epoch</th><th>train_loss</th><th>valid_loss</th><th>error_rate</th><th>accuracy</th><th>time</th></tr>

            """);
        for (int i = 0; i < Epochs.Count; i++)
        {
            var e = Epochs[i];
            html.Append($"<tr><td class=\"text\">{H(EpochPhases[i])}</td><td>{e.Epoch}</td><td>{F(e.TrainLoss)}</td><td>{F(e.ValidLoss)}</td><td>{F(e.ErrorRate)}</td><td>{F(e.Accuracy)}</td><td>{Recorder.FormatTime(e.Elapsed)}</td></tr>\n");
        }
        html.Append("</table>\n<h2>Validation metrics</h2>\n<table>\n");
        html.Append($"<tr><th>images</th><td>{interpretation.Count}</td></tr>\n");
        html.Append($"<tr><th>error_rate</th><td>{F(interpretation.ErrorRate)}</td></tr>\n");
        html.Append($"<tr><th>accuracy (micro)</th><td>{F(Validation.Metrics.MicroAccuracy)}</td></tr>\n");
        html.Append($"<tr><th>accuracy (macro)</th><td>{F(Validation.Metrics.MacroAccuracy)}</td></tr>\n");
        html.Append($"<tr><th>log-loss</th><td>{F(Validation.Metrics.LogLoss)}</td></tr>\n</table>\n");
        html.Append($"<h2>Most confused (at least {MinVal})</h2>\n");
        if (mostConfused.Count == 0) html.Append("<p>No pair of classes was confused.</p>\n");
        else
        {
            html.Append("<table><tr><th>actual</th><th>predicted</th><th>count</th></tr>\n");
            foreach (var p in mostConfused) html.Append($"<tr><td class=\"text\">{H(p.Actual)}</td><td class=\"text\">{H(p.Predicted)}</td><td>{p.Count}</td></tr>\n");
            html.Append("</table>\n");
        }
        if (Calibration is { } c)
        {
            // The reliability diagram, drawn next to the page, then as a table: per confidence bin, the photos in it and the share that were right.
            var diagram = Path.GetFileName(InterpretationPictures.WriteReliability(c, folder));
            html.Append($"<h2>Calibration</h2>\n<p>Expected calibration error (15 bins): {F(c.EcePlain)} with the plain softmax, {F(c.EceCalibrated)} " +
                $"with the logits divided by the fitted temperature {F(c.Temperature)}. A calibrated model is right about as often as it is confident.</p>\n");
            html.Append($"<figure><img src=\"{H(Uri.EscapeDataString(diagram))}\" alt=\"Reliability diagram\"><figcaption>Reliability diagram: per confidence bin, " +
                "the share of validation photos that were right against their mean confidence, before (plain softmax) and after the temperature; " +
                "a calibrated model lies on the diagonal, and a bigger marker holds more photos.</figcaption></figure>\n");
            html.Append("<table><tr><th>confidence</th><th>photos (plain)</th><th>mean confidence</th><th>right</th><th>photos (calibrated)</th><th>mean confidence</th><th>right</th></tr>\n");
            for (int b = 0; b < c.Plain.Length; b++)
            {
                var (p, q) = (c.Plain[b], c.Calibrated[b]);
                if (p.Count == 0 && q.Count == 0) continue;
                static string P(double v) => double.IsNaN(v) ? "" : v.ToString("0.000", CultureInfo.InvariantCulture);
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{p.Low:0.00}-{p.High:0.00}</td><td>{p.Count}</td><td>{P(p.MeanConfidence)}</td><td>{P(p.Accuracy)}</td><td>{q.Count}</td><td>{P(q.MeanConfidence)}</td><td>{P(q.Accuracy)}</td></tr>\n");
            }
            html.Append("</table>\n");
        }
        html.Append("<h2>Pictures</h2>\n");
        foreach (var (file, caption) in Pictures)
            html.Append($"<figure><img src=\"{H(Uri.EscapeDataString(file))}\" alt=\"{H(caption)}\"><figcaption>{H(caption)}</figcaption></figure>\n");
        html.Append("<p><a href=\"metrics.json\">metrics.json</a></p>\n</body></html>\n");
        File.WriteAllText(Path.Combine(folder, IndexFile), html.ToString());
    }
}
