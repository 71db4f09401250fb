using System.Diagnostics;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// What the neighbour outlier score adds to a prediction: the classifier's Predict (forward, softmax, outlier score) with
/// the energy score (logits only) and with 1,000 stored feature rows (pooled features copied out, one [N, 1024] × [1024,
/// 1000] product and a top-k), on a random ResNet-18 at 224, interleaved, median of the runs.
/// </summary>
internal static class OodCostBenchmark
{
    public const string Help = "cost of the neighbour outlier score per prediction: [--runs 15] [--threads 2]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        int runs = a.Int("runs", 15);
        torch.set_num_threads(a.Int("threads", 2));
        var rows = new float[ScoreCalibrationLimit * 1024];
        var random = new Random(0);
        for (int r = 0; r < ScoreCalibrationLimit; r++)
        {
            var row = rows.AsSpan(r * 1024, 1024);
            double norm = 0;
            for (int i = 0; i < row.Length; i++) { row[i] = (float)random.NextDouble(); norm += row[i] * row[i]; }
            for (int i = 0; i < row.Length; i++) row[i] /= (float)Math.Sqrt(norm);
        }
        var energy = new ScoreCalibration(1, 0.95f, -1);
        var neighbours = new ScoreCalibration(1, 0.95f, 1, rows, 1024);
        using var classifier = new ImageClassifierTransformer(ImageClassifier.Create(ResNetArchitecture.ResNet18, 3, seed: 0, pretrained: false),
            ResNetArchitecture.ResNet18, ["a", "b", "c"], "Features", 224, "cpu", null);
        foreach (int batch in new[] { 1, 32 })
        {
            using var images = torch.randn(batch, 3, 224, 224);
            var times = new Dictionary<string, List<double>> { ["energy"] = [], ["neighbours"] = [] };
            for (int run = -1; run < runs; run++)
                foreach (var (name, calibration) in new[] { ("energy", energy), ("neighbours", neighbours) })
                {
                    classifier.Calibration = calibration;
                    var watch = Stopwatch.StartNew();
                    classifier.Predict(images);
                    if (run >= 0) times[name].Add(watch.Elapsed.TotalMilliseconds);
                }
            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            Console.WriteLine($"batch {batch}: energy {Median(times["energy"]):0.0} ms, neighbours {Median(times["neighbours"]):0.0} ms " +
                $"(+{Median(times["neighbours"]) - Median(times["energy"]):0.0} ms, medians of {runs})");
        }
        return 0;
    }

    const int ScoreCalibrationLimit = PetsML.Transforms.Interop.MlNet.ModelFileLimits.MaxOutlierFeatureRows;
}
