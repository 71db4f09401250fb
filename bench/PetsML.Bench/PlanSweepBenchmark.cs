using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// Issue 23: Microsoft's image-classification sample shape with only its trainer line changed
/// (<c>FineTuneImageClassifier(featureColumnName: "Image", labelColumnName: "LabelAsKey", validationSet: test)</c>,
/// no options) on cuts of a folder of Oxford-style photos, the training plan against the old fixed defaults (batch 64,
/// fine_tune(2), lr 2e-3). Each cut takes N photos a class, the same for every seed (a fixed shuffle of each class); the
/// seed drives the sample's ShuffleRows, TrainTestSplit(0.2) and the trainer. Scores accuracy and log-loss on the 20%
/// split and on "other" photos of the same classes that no cut uses. One line per run, then a markdown table.
/// </summary>
internal static class PlanSweepBenchmark
{
    public const string Help = "plan against fixed defaults, sample shape: --data DIR [--per-class 50,20,10,5] [--seeds 1,2,3] [--modes plan,fixed] [--other 20] [--threads 2] [--label-regex RE]";

    sealed class ImageData
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    sealed record RunResult(int PerClass, string Mode, int Seed, string Plan, double Accuracy, double LogLoss, double OtherAccuracy, double OtherLogLoss, double Seconds, string? Error);

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var folder = Path.GetFullPath(a.String("data") ?? throw new ArgumentException("--data DIR is required"));
        var cuts = Ints(a.String("per-class", "50,20,10,5")!);
        var seeds = Ints(a.String("seeds", "1,2,3")!);
        var modes = a.String("modes", "plan,fixed")!.Split(',');
        int otherPerClass = a.Int("other", 20);
        torch.set_num_threads(a.Int("threads", 2));
        var regex = new System.Text.RegularExpressions.Regex(a.String("label-regex", @"^(.+)_\d+\.\w+$")!);

        // Each class: its files in a fixed shuffled order; the last `other` of them are never trained on.
        var byClass = Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>().Where(f => regex.IsMatch(f))
            .GroupBy(f => regex.Match(f).Groups[1].Value).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Order(StringComparer.Ordinal).OrderBy(f => StableHash(f)).ToList());
        var other = byClass.SelectMany(c => c.Value.TakeLast(otherPerClass).Select(f => new ImageData { ImagePath = f, Label = c.Key })).ToList();
        Console.WriteLine($"# {byClass.Count} classes in {folder}; other photos: {other.Count}");
        var runs = new List<RunResult>();
        foreach (int perClass in cuts)
            foreach (int seed in seeds)
                foreach (var mode in modes)
                {
                    var cut = byClass.SelectMany(c => c.Value.Take(Math.Min(perClass, c.Value.Count - otherPerClass)).Select(f => new ImageData { ImagePath = f, Label = c.Key })).ToList();
                    var run = RunOne(folder, cut, other, perClass, mode, seed);
                    runs.Add(run);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"RUN per_class={run.PerClass} mode={run.Mode} seed={run.Seed} acc={run.Accuracy:0.000} logloss={run.LogLoss:0.000} other_acc={run.OtherAccuracy:0.000} other_logloss={run.OtherLogLoss:0.000} seconds={run.Seconds:0} plan=\"{run.Plan}\"{(run.Error is null ? "" : $" error=\"{run.Error}\"")}"));
                }
        Console.WriteLine();
        Console.WriteLine("| photos a class | defaults | plan chosen | accuracy (20% split) | log-loss | accuracy (other photos) | log-loss (other) | seconds | seeds |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var group in runs.GroupBy(r => (r.PerClass, r.Mode)))
        {
            var ok = group.Where(r => r.Error is null).ToList();
            string Cell(Func<RunResult, double> f) => ok.Count == 0 ? "-" : ok.Count == 1 ? f(ok[0]).ToString("0.000", CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{ok.Average(f):0.000} ± {StdDev(ok.Select(f).ToList()):0.000}");
            string plan = ok.Count > 0 ? ok[0].Plan : "fails: " + group.First().Error;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key.PerClass} | {group.Key.Mode} | {plan} | {Cell(r => r.Accuracy)} | {Cell(r => r.LogLoss)} | {Cell(r => r.OtherAccuracy)} | {Cell(r => r.OtherLogLoss)} | {(ok.Count == 0 ? "-" : ok.Average(r => r.Seconds).ToString("0", CultureInfo.InvariantCulture))} | {string.Join(",", group.Select(r => r.Seed))} |"));
        }
        return 0;
    }

    static RunResult RunOne(string folder, List<ImageData> cut, List<ImageData> other, int perClass, string mode, int seed)
    {
        // Microsoft's sample, as in samples/DropIn: ShuffleRows, MapValueToKey, LoadRawImageBytes, TrainTestSplit(0.2).
        var mlContext = new MLContext(seed: seed);
        IDataView shuffled = mlContext.Data.ShuffleRows(mlContext.Data.LoadFromEnumerable(cut));
        var prepare = mlContext.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label")
            .Append(mlContext.Transforms.LoadRawImageBytes("Image", folder, "ImagePath"))
            .Fit(shuffled);
        var split = mlContext.Data.TrainTestSplit(prepare.Transform(shuffled), testFraction: 0.2);
        var planLines = new List<string>();
        mlContext.Log += (_, e) =>
        {
            if (e.Source != "FineTuneImageClassifier" || e.Kind != Microsoft.ML.Runtime.ChannelMessageKind.Info) return;
            Console.Error.WriteLine(e.Message);
            if (e.Message.Contains("steps an epoch", StringComparison.Ordinal)) planLines.Add(e.Message);
        };
        var trainer = mode switch
        {
            // The trainer line of the sample: no options, so the training plan decides.
            "plan" => mlContext.MulticlassClassification.Trainers.FineTuneImageClassifier(
                featureColumnName: "Image", labelColumnName: "LabelAsKey", validationSet: split.TestSet),
            // The fixed defaults before the plan: the lesson's batch 64, fine_tune(2) with 1 frozen, lr 2e-3.
            "fixed" => mlContext.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
            {
                FeatureColumnName = "Image", LabelColumnName = "LabelAsKey", ValidationData = split.TestSet,
                BatchSize = 64, Epochs = 2, FreezeEpochs = 1, BaseLearningRate = 2e-3,
            }),
            _ => throw new ArgumentException($"unknown mode '{mode}' (plan, fixed)"),
        };
        var watch = Stopwatch.StartNew();
        ITransformer model;
        try { model = trainer.Fit(split.TrainSet); }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return new RunResult(perClass, mode, seed, "", double.NaN, double.NaN, double.NaN, double.NaN, watch.Elapsed.TotalSeconds, e.Message.Split('\n')[0]);
        }
        double seconds = watch.Elapsed.TotalSeconds;
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet), labelColumnName: "LabelAsKey");
        var otherData = prepare.Transform(mlContext.Data.LoadFromEnumerable(other));
        var otherMetrics = mlContext.MulticlassClassification.Evaluate(model.Transform(otherData), labelColumnName: "LabelAsKey");
        var plan = planLines.Count > 0 ? planLines[0].Split(':')[1].Split(';')[0].Trim() : "";
        (model as IDisposable)?.Dispose();
        return new RunResult(perClass, mode, seed, plan, metrics.MicroAccuracy, metrics.LogLoss, otherMetrics.MicroAccuracy, otherMetrics.LogLoss, seconds, null);
    }

    static int[] Ints(string text) => text.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    static uint StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text) hash = (hash ^ c) * 16777619;
        return hash;
    }

    static double StdDev(List<double> values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }
}
