using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// Prediction through ML.NET against the raw network (issue 9): <c>Evaluate</c> images/s over a data view (the classifier
/// scores 32 rows a forward pass inside the cursor) against <c>PredictProbabilities</c> on batches of 32 of the same
/// tensors, and the latency of one <c>PredictionEngine.Predict</c> on one image with 1 libtorch thread and with all
/// cores. Packaged ResNet-18 + fastai head, 37 classes, normalised 224-pixel inputs; runs are interleaved round by round.
/// </summary>
internal static class MlNetInferenceBenchmark
{
    public const string Help = "Evaluate images/s through ML.NET vs raw batched inference; PredictionEngine latency [--images 64] [--rounds 2] [--predictions 20] [--size 224]";

    public sealed class Row
    {
        public float[] Features { get; set; } = Array.Empty<float>();
        [KeyType(37)] public uint Label { get; set; }
    }

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        int count = a.Int("images", 64), rounds = a.Int("rounds", 2), predictions = a.Int("predictions", 20), size = a.Int("size", 224);
        var random = new Random(42);
        var rows = Enumerable.Range(0, count).Select(i => new Row
        {
            Features = Enumerable.Range(0, 3 * size * size).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
            Label = (uint)(i % 37),
        }).ToList();
        var ml = new MLContext(seed: 0);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3 * size * size);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows, schema));
        using var classifier = new ImageClassifierTransformer(ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, 37, 42, pretrained: true),
            ResNetArchitecture.ResNet18Packaged, Enumerable.Range(0, 37).Select(i => $"class{i}").ToList(), "Features", size, "cpu", history: null);
        using var images = torch.tensor(rows.SelectMany(r => r.Features).ToArray(), new long[] { count, 3, size, size });
        Console.WriteLine($"{count} images {size}×{size}, {torch.get_num_threads()} libtorch threads, {Environment.ProcessorCount} cores; {rounds} rounds; load average before the run {AugmentBenchmark.LoadAverage()}");

        double Raw()
        {
            var watch = Stopwatch.StartNew();
            for (int start = 0; start < count; start += 32)
                classifier.PredictProbabilities(images.narrow(0, start, Math.Min(32, count - start)));
            return count / watch.Elapsed.TotalSeconds;
        }
        double Evaluate()
        {
            var watch = Stopwatch.StartNew();
            var metrics = ml.MulticlassClassification.Evaluate(classifier.Transform(data));
            GC.KeepAlive(metrics);
            return count / watch.Elapsed.TotalSeconds;
        }
        (double Median, double P95) Latency(int? threads)
        {
            classifier.InferenceThreads = threads;
            using var engine = ml.Model.CreatePredictionEngine<Row, ScoreRow>(classifier, inputSchemaDefinition: schema);
            engine.Predict(rows[0]); // warm-up
            var times = Enumerable.Range(0, predictions).Select(i =>
            {
                var watch = Stopwatch.StartNew();
                engine.Predict(rows[i % count]);
                return watch.Elapsed.TotalMilliseconds;
            }).Order().ToArray();
            classifier.InferenceThreads = null;
            return (times[times.Length / 2], times[(int)Math.Ceiling(0.95 * times.Length) - 1]);
        }

        Raw(); Evaluate(); // warm-up
        var raw = new List<double>(); var evaluate = new List<double>();
        var one = new List<(double, double)>(); var all = new List<(double, double)>();
        for (int round = 1; round <= rounds; round++)
        {
            raw.Add(Raw());
            evaluate.Add(Evaluate());
            one.Add(Latency(1));
            all.Add(Latency(Environment.ProcessorCount));
            Console.WriteLine($"round {round}: raw batched {raw[^1],6:F1} img/s  Evaluate {evaluate[^1],6:F1} img/s ({evaluate[^1] / raw[^1]:P0})  " +
                              $"Predict 1 thread median {one[^1].Item1:F1} ms p95 {one[^1].Item2:F1} ms  {Environment.ProcessorCount} threads median {all[^1].Item1:F1} ms p95 {all[^1].Item2:F1} ms");
        }
        Console.WriteLine($"Evaluate / raw batched: {evaluate.Sum() / raw.Sum():P0} (target ≥ 80%)");
        return 0;
    }
}
