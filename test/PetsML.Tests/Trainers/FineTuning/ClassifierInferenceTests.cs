using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The classifier inside ML.NET's prediction paths: batched cursors, several PredictionEngines at once, and its
/// reference-counted lifetime. The network is untrained (seeded): these tests are about plumbing, not accuracy.
/// </summary>
[TestClass]
public sealed class ClassifierInferenceTests
{
    const int Size = 32;

    public sealed class FeatureRow
    {
        [VectorType(3 * Size * Size)] public float[] Features { get; set; } = Array.Empty<float>();
    }

    public sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    static List<FeatureRow> Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => new FeatureRow
        {
            Features = Enumerable.Range(0, 3 * Size * Size).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(),
        }).ToList();
    }

    static ImageClassifierTransformer Classifier(int seed = 3)
        => new(ImageClassifier.Create(ResNetArchitecture.ResNet18, 3, seed, pretrained: false), ResNetArchitecture.ResNet18,
            ["a", "b", "c"], "Features", Size, "cpu", history: null);

    [TestMethod]
    public void Transform_in_batches_gives_the_row_by_row_scores()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(Rows(45, seed: 1)); // one full batch of 32 and a partial one
        using var classifier = Classifier();
        classifier.InferenceBatchSize = 1;
        var oneByOne = classifier.Transform(data).GetColumn<float[]>("Score").ToArray();
        classifier.InferenceBatchSize = 32;
        var batched = classifier.Transform(data).GetColumn<float[]>("Score").ToArray();
        var predicted = classifier.Transform(data).GetColumn<uint>("PredictedLabel").ToArray();

        Assert.AreEqual(45, batched.Length);
        double maxDiff = batched.Zip(oneByOne, (b, o) => b.Zip(o, (x, y) => Math.Abs(x - y)).Max()).Max();
        Assert.IsTrue(maxDiff < 1e-5, $"batched and row-by-row probabilities differ only by float rounding (max |Δ| {maxDiff})");
        for (int i = 0; i < batched.Length; i++)
            Assert.AreEqual((uint)Array.IndexOf(batched[i], batched[i].Max()) + 1, predicted[i], $"PredictedLabel of row {i} is the arg max");

        // Through a cache and a filter that skips rows the cursor still scores the right rows.
        var filtered = ml.Data.TakeRows(ml.Data.SkipRows(ml.Data.Cache(data), 5), 30);
        var filteredScores = classifier.Transform(filtered).GetColumn<float[]>("Score").ToArray();
        for (int i = 0; i < 30; i++)
            Assert.IsTrue(filteredScores[i].Zip(oneByOne[i + 5], (x, y) => Math.Abs(x - y)).Max() < 1e-5, $"row {i + 5} after SkipRows");
    }

    [TestMethod]
    public void Concurrent_PredictionEngines_agree_bit_for_bit_and_disposing_one_leaves_the_others_working()
    {
        var ml = new MLContext(seed: 0);
        var rows = Rows(6, seed: 2);
        var model = Classifier();
        var reference = ml.Model.CreatePredictionEngine<FeatureRow, ScoreRow>(model);
        var expected = rows.Select(r => reference.Predict(r).Score.ToArray()).ToArray();

        var engines = Enumerable.Range(0, 4).Select(_ => ml.Model.CreatePredictionEngine<FeatureRow, ScoreRow>(model)).ToArray();
        reference.Dispose(); // ML.NET's default: the engine disposes the model it was given
        var results = new float[engines.Length][][];
        Parallel.For(0, engines.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, e =>
        {
            results[e] = new float[rows.Count * 3][];
            for (int repeat = 0; repeat < 3; repeat++)
            for (int i = 0; i < rows.Count; i++)
                results[e][repeat * rows.Count + i] = engines[e].Predict(rows[i]).Score.ToArray();
            if (e == 0) engines[e].Dispose(); // while the others may still be predicting
        });
        for (int e = 0; e < engines.Length; e++)
        for (int j = 0; j < results[e].Length; j++)
            CollectionAssert.AreEqual(expected[j % rows.Count], results[e][j], $"engine {e}, prediction {j}");

        CollectionAssert.AreEqual(expected[0], engines[1].Predict(rows[0]).Score, "an engine works after others were disposed");
        model.Dispose(); // the owner lets go; engines 1..3 still hold the network
        CollectionAssert.AreEqual(expected[1], engines[2].Predict(rows[1]).Score, "an engine works after the owner disposed the model");
        foreach (var engine in engines.Skip(1)) engine.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => model.PredictProbabilities(TorchSharp.torch.zeros(1, 3, Size, Size)),
            "no forward pass on a released model");
    }
}
