using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Demo;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// Calibration and out-of-distribution scores on a photo folder (bench/README.md, "Calibration and unknown photos").
/// Per seed, two trainings through the ordinary trainer: all classes (in-distribution = the validation photos; far =
/// a folder of other photos and the drawn demo set) and all classes but one (near = every photo of the held-out class,
/// in-distribution = the others' validation photos). For each candidate score: AUROC and the share of outside photos
/// accepted at 95% in-distribution acceptance; the ECE (15 bins) of the plain softmax and of the calibrated one, on the
/// validation photos (the temperature fitted on them) and held out (fitted on one half, measured on the other).
/// </summary>
internal static class OodBenchmark
{
    public const string Help = "calibration + unknown-photo scores: --data PETS_DIR --far DIR [--seeds 0,1,2,3,4] [--hold-out BREED] [--epochs 2] [--bs 32] [--precision auto] [--out-dir DIR] [--features-dir DIR: per seed, .npy dumps of the logits and features]";

    // "shipped" is the model's own OutlierScore column: the 5th-nearest-neighbour distance in the pooled features now; runs
    // before recorded the energy there, and seed 0's first run a Mahalanobis distance (bench/README.md says which is which).
    static readonly string[] Candidates = ["msp", "msp_calibrated", "max_logit", "energy", "shipped"];

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        var far = a.String("far") ?? throw new ArgumentException("--far DIR is required (photos of things that are not pets)");
        var seeds = a.String("seeds", "0,1,2,3,4")!.Split(',').Select(int.Parse).ToArray();
        var outDir = a.String("out-dir");
        if (outDir is not null) Directory.CreateDirectory(outDir);
        var featuresDir = a.String("features-dir");
        if (featuresDir is not null) Directory.CreateDirectory(featuresDir);
        torch.set_num_threads(a.Int("threads", 2));
        var drawn = DemoDataSet.Ensure(Path.Combine(Path.GetTempPath(), "petsml-ood-drawn"));
        var breeds = Directory.GetFiles(data, "*.jpg").Select(f => System.Text.RegularExpressions.Regex.Match(Path.GetFileName(f), @"(.+)_\d+\.\w+$").Groups[1].Value)
            .Distinct().OrderBy(b => b, StringComparer.Ordinal).ToArray();

        foreach (var seed in seeds)
        {
            var ml = new MLContext(seed: 0);
            // All classes: in-distribution and far.
            using (var full = Train(ml, a, Directory.GetFiles(data, "*.jpg"), seed))
            {
                var inDist = Score(ml, full.Model, full.Validation);
                var farClothes = Score(ml, full.Model, Directory.GetFiles(far, "*.*", SearchOption.AllDirectories).Where(IsImage).ToArray());
                var farDrawn = Score(ml, full.Model, Directory.GetFiles(drawn, "*.jpg"));
                var result = new Dictionary<string, object?>
                {
                    ["seed"] = seed, ["kind"] = "all classes", ["temperature"] = full.Model.Temperature, ["threshold"] = full.Model.UnknownThreshold,
                    ["valid_images"] = inDist.Count, ["far_photos"] = farClothes.Count, ["far_drawn"] = farDrawn.Count,
                    ["error_rate"] = inDist.ErrorRate(full.Labels),
                    ["calibration"] = Calibration(inDist, full.Labels),
                    ["far_photos_scores"] = Compare(inDist, farClothes),
                    ["far_drawn_scores"] = Compare(inDist, farDrawn),
                    ["far_photos_flagged_by_model"] = farClothes.Unknown.Count(u => u) / (double)farClothes.Count,
                    ["far_drawn_flagged_by_model"] = farDrawn.Unknown.Count(u => u) / (double)farDrawn.Count,
                    ["valid_flagged_by_model"] = inDist.Unknown.Count(u => u) / (double)inDist.Count,
                };
                Write(outDir, $"seed{seed}-all.json", result);
                if (featuresDir is not null)
                {
                    var train = Score(ml, full.Model, full.Training);
                    Dump(featuresDir, $"seed{seed}-all", ("train", train, full.TrainingLabels), ("valid", inDist, full.Labels), ("far_photos", farClothes, null), ("far_drawn", farDrawn, null));
                }
            }
            // One class held out: near.
            var heldOut = a.String("hold-out") ?? breeds[seed % breeds.Length];
            var known = Directory.GetFiles(data, "*.jpg").Where(f => !Path.GetFileName(f).StartsWith(heldOut + "_", StringComparison.Ordinal)).ToArray();
            var unseen = Directory.GetFiles(data, "*.jpg").Except(known).ToArray();
            using (var two = Train(ml, a, known, seed))
            {
                var inDist = Score(ml, two.Model, two.Validation);
                var near = Score(ml, two.Model, unseen);
                var result = new Dictionary<string, object?>
                {
                    ["seed"] = seed, ["kind"] = "held out: " + heldOut, ["temperature"] = two.Model.Temperature, ["threshold"] = two.Model.UnknownThreshold,
                    ["valid_images"] = inDist.Count, ["near_photos"] = near.Count, ["error_rate"] = inDist.ErrorRate(two.Labels),
                    ["near_scores"] = Compare(inDist, near),
                    ["near_flagged_by_model"] = near.Unknown.Count(u => u) / (double)near.Count,
                };
                Write(outDir, $"seed{seed}-near-{heldOut}.json", result);
                if (featuresDir is not null)
                {
                    var train = Score(ml, two.Model, two.Training);
                    Dump(featuresDir, $"seed{seed}-near", ("train", train, two.TrainingLabels), ("valid", inDist, two.Labels), ("near", near, null));
                }
            }
        }
        return 0;
    }

    static bool IsImage(string path) => Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".webp" or ".bmp";

    static void Write(string? folder, string name, Dictionary<string, object?> result)
    {
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(json);
        if (folder is not null) File.WriteAllText(Path.Combine(folder, name), json);
    }

    sealed class Trained(ImageClassifierTransformer model, string[] validation, int[] labels, string[] training, int[] trainingLabels) : IDisposable
    {
        public ImageClassifierTransformer Model { get; } = model;
        public string[] Validation { get; } = validation;
        public int[] Labels { get; } = labels;
        public string[] Training { get; } = training;
        public int[] TrainingLabels { get; } = trainingLabels;
        public void Dispose() => Model.Dispose();
    }

    /// <summary>The lesson's fine_tune on <paramref name="files"/> (seeded 20% split with the run's seed), through the trainer's Fit.</summary>
    static Trained Train(MLContext ml, BenchArgs a, string[] files, int seed)
    {
        var rows = ml.Data.LoadFromEnumerable(files.OrderBy(f => f, StringComparer.Ordinal).Select(f => new ImageFileRow { ImagePath = f }));
        var pipeline = ml.Transforms.LabelFromFileName()
            .Append(ml.Transforms.RandomSplit(validPct: 0.2, seed: seed))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = 460 }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 224 }))
            .Append(ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
            {
                Epochs = a.Int("epochs", 2), FreezeEpochs = 1, BatchSize = a.Int("bs", 32), Seed = seed, BaseLearningRate = 2e-3,
                Compute = { Precision = PrecisionResolver.Parse(a.String("precision", "auto")!) }, Log = line => Console.Error.WriteLine(line),
            }));
        var model = pipeline.Fit(rows);
        var classifier = model.OfType<ImageClassifierTransformer>().Single();
        var scored = ml.Data.ValidationRows(model.Transform(rows));
        var validation = scored.GetColumn<string>("ImagePath").ToArray();
        var names = classifier.ClassNames.ToList();
        int Label(string f) => names.IndexOf(System.Text.RegularExpressions.Regex.Match(Path.GetFileName(f), @"(.+)_\d+\.\w+$").Groups[1].Value);
        var training = files.Except(validation).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        return new Trained(classifier, validation, validation.Select(Label).ToArray(), training, training.Select(Label).ToArray());
    }

    sealed record Scores(List<float[]> Logits, List<float> Outlier, List<bool> Unknown, float Temperature, List<float[]> Pooled, List<float[]> Penultimate)
    {
        public int Count => Logits.Count;

        public double ErrorRate(int[] labels) => Logits.Select((l, i) => Array.IndexOf(l, l.Max()) == labels[i] ? 0.0 : 1.0).Average();

        /// <summary>Every candidate, higher = more likely outside.</summary>
        public Dictionary<string, double[]> Candidates() => new()
        {
            ["msp"] = Logits.Select(l => -(double)CalibrationError.Softmax(l, 1).Max()).ToArray(),
            ["msp_calibrated"] = Logits.Select(l => -(double)CalibrationError.Softmax(l, Temperature).Max()).ToArray(),
            ["max_logit"] = Logits.Select(l => -(double)l.Max()).ToArray(),
            ["energy"] = Logits.Select(l => -LogSumExp(l)).ToArray(),
            ["shipped"] = Outlier.Select(o => (double)o).ToArray(),
        };
    }

    static double LogSumExp(float[] l)
    {
        double max = l.Max();
        return max + Math.Log(l.Sum(v => Math.Exp(v - max)));
    }

    /// <summary>The classifier's logits and outlier scores for <paramref name="files"/>, through its own presize and validation path.</summary>
    static Scores Score(MLContext ml, ImageClassifierTransformer classifier, string[] files)
    {
        var rows = ml.Data.LoadFromEnumerable(files.Select(f => new ImageFileRow { ImagePath = f }));
        var features = ml.Transforms.Presize(new PresizeOptions { Size = 460 })
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 224 })).Fit(rows).Transform(rows);
        var result = new Scores([], [], [], classifier.Temperature, [], []);
        var batch = new List<float[]>();
        void Flush()
        {
            if (batch.Count == 0) return;
            using var scope = torch.NewDisposeScope();
            // One forward pass gives the logits, the pooled features the shipped score reads, and the penultimate ones.
            var (logits, pooled, penultimate) = classifier.ForwardWithFeatures(torch.tensor(batch.SelectMany(b => b).ToArray(), [batch.Count, 3, 224, 224]));
            var outliers = classifier.Calibration?.OutlierScores(logits, pooled) ?? Enumerable.Repeat(float.NaN, batch.Count).ToArray();
            result.Logits.AddRange(Rows(logits));
            result.Outlier.AddRange(outliers);
            result.Unknown.AddRange(outliers.Select(classifier.IsUnknown));
            result.Pooled.AddRange(Rows(pooled));
            result.Penultimate.AddRange(Rows(penultimate));
            batch.Clear();
        }
        foreach (var row in features.GetColumn<float[]>(classifier.FeatureColumnName))
        {
            batch.Add(row);
            if (batch.Count == 32) Flush();
        }
        Flush();
        return result;
    }

    static IEnumerable<float[]> Rows(torch.Tensor t)
    {
        int n = (int)t.shape[0], d = (int)t.shape[1];
        var flat = t.data<float>().ToArray();
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * d, d).ToArray());
    }

    /// <summary>Per set, {prefix}-{set}-{logits|pooled|penultimate|labels}.npy (float32, row-major; labels as float32 class indices) for bench/ood_features.py.</summary>
    static void Dump(string folder, string prefix, params (string Name, Scores Scores, int[]? Labels)[] sets)
    {
        foreach (var (name, scores, labels) in sets)
        {
            Npy(Path.Combine(folder, $"{prefix}-{name}-logits.npy"), scores.Logits);
            Npy(Path.Combine(folder, $"{prefix}-{name}-pooled.npy"), scores.Pooled);
            Npy(Path.Combine(folder, $"{prefix}-{name}-penultimate.npy"), scores.Penultimate);
            if (labels is not null) Npy(Path.Combine(folder, $"{prefix}-{name}-labels.npy"), labels.Select(l => new[] { (float)l }).ToList());
        }
    }

    static void Npy(string path, List<float[]> rows)
    {
        int n = rows.Count, d = n == 0 ? 0 : rows[0].Length;
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {d}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var w = new BinaryWriter(File.Create(path));
        w.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        w.Write((ushort)header.Length);
        w.Write(System.Text.Encoding.ASCII.GetBytes(header));
        foreach (var row in rows) foreach (var v in row) w.Write(v);
    }

    /// <summary>AUROC and the outside share accepted at 95% in-distribution acceptance, per candidate.</summary>
    static Dictionary<string, object> Compare(Scores inside, Scores outside)
    {
        var result = new Dictionary<string, object>();
        var a = inside.Candidates();
        var b = outside.Candidates();
        foreach (var name in Candidates)
        {
            var i = a[name];
            var o = b[name];
            double auroc = 0;
            foreach (var x in o) foreach (var y in i) auroc += x > y ? 1 : x == y ? 0.5 : 0;
            auroc /= (double)o.Length * i.Length;
            var sorted = i.OrderBy(v => v).ToArray();
            double threshold = sorted[Math.Clamp((int)Math.Ceiling(0.95 * sorted.Length) - 1, 0, sorted.Length - 1)];
            double accepted = o.Count(v => v <= threshold) / (double)o.Length;
            result[name] = new { auroc, accepted_at_95 = accepted };
        }
        return result;
    }

    /// <summary>ECE before/after on the validation photos, and held out (<see cref="CalibrationReport"/>).</summary>
    static object Calibration(Scores s, int[] labels) => CalibrationReport.Measure(s.Logits, labels, s.Temperature);
}
