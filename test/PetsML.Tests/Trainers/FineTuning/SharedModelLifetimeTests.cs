using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The README's <c>using var engine = ...</c> pattern on one loaded model, several times: ML.NET's PredictionEngine
/// disposes the model it was given, so every step of a saved chain that owns native memory must count its users.
/// </summary>
[TestClass]
public sealed class SharedModelLifetimeTests
{
    sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }

    /// <summary>
    /// "normalized" is the chain <c>petsml train</c> saves (LabelFromFileName, RandomSplit, Presize, AugmentImages,
    /// classifier); "raw" is the drop-in one, whose classifier presizes and normalises the image paths itself.
    /// </summary>
    [TestMethod]
    [DataRow("normalized")]
    [DataRow("raw")]
    public void Two_engines_disposed_in_turn_leave_a_third_and_the_loaded_model_working(string kind)
    {
        using var folder = new TempFolder("petsml-engine-lifetime");
        var ml = new MLContext(seed: 0).RegisterPetsML();
        var paths = TestImages.WriteShapeDataset(folder.Combine("images"), perClass: 1, width: 64, height: 56);
        var files = ml.Data.LoadImageFiles(folder.Combine("images"));
        var loaded = ml.Model.Load(TtaTransformTests.SaveModel(ml, files, kind, folder.Combine("model.zip")), out _);
        var row = new ImageFileRow { ImagePath = paths[0] };

        var engines = Enumerable.Range(0, 3).Select(_ => ml.Model.CreatePredictionEngine<ImageFileRow, ScoreRow>(loaded)).ToArray();
        var expected = engines[2].Predict(row).Score.ToArray();
        Assert.HasCount(3, expected);
        using (engines[0]) CollectionAssert.AreEqual(expected, engines[0].Predict(row).Score);
        using (engines[1]) CollectionAssert.AreEqual(expected, engines[1].Predict(row).Score);

        CollectionAssert.AreEqual(expected, engines[2].Predict(row).Score, "the third engine after two were disposed");
        var scores = loaded.Transform(files).GetColumn<float[]>("Score").ToArray();
        Assert.HasCount(paths.Count, scores);
        // Transform runs the network on batches: the same scores up to float rounding.
        Assert.IsLessThan(1e-5, expected.Zip(scores[0], (x, y) => Math.Abs(x - y)).Max(), "loaded.Transform after two engines were disposed");

        engines[2].Dispose();
        ((IDisposable)loaded).Dispose();
    }
}
