using PetsML.Tests.Support;
using PetsML.Host.Interpretation;
using PetsML.Host.Visualization;
using SkiaSharp;

namespace PetsML.Tests.Host;

/// <summary>fastai's interpretation semantics (docs/fastai-semantics.md, "Interpretation"): rows are actual, most_confused is a stable sort of row-major pairs, top_losses by loss.</summary>
[TestClass]
public sealed class ClassificationInterpretationTests
{
    static float[] OneHot(int k, int c, float p = 0.9f)
    {
        var v = Enumerable.Repeat((1 - p) / (c - 1), c).ToArray();
        v[k] = p;
        return v;
    }

    [TestMethod]
    public void Confusion_matrix_rows_are_actual_and_most_confused_keeps_row_major_order_on_ties()
    {
        string[] classes = ["A", "B", "C"];
        // (actual, predicted): A->B twice, C->A twice, B->C once, A->A once.
        (int Actual, int Predicted)[] items = [(0, 1), (2, 0), (0, 1), (1, 2), (2, 0), (0, 0)];
        var interpretation = new ClassificationInterpretation(classes, items.Select(i => OneHot(i.Predicted, 3)).ToList(),
            items.Select(i => i.Actual).ToList(), items.Select(i => (float)-Math.Log(OneHot(i.Predicted, 3)[i.Actual])).ToList());
        var cm = interpretation.ConfusionMatrix();
        Assert.AreEqual(2, cm[0, 1]);
        Assert.AreEqual(2, cm[2, 0]);
        Assert.AreEqual(1, cm[1, 2]);
        Assert.AreEqual(1, cm[0, 0]);
        var pairs = interpretation.MostConfused();
        CollectionAssert.AreEqual(new[] { new ConfusedPair("A", "B", 2), new ConfusedPair("C", "A", 2), new ConfusedPair("B", "C", 1) }, pairs.ToArray());
        CollectionAssert.AreEqual(new[] { new ConfusedPair("A", "B", 2), new ConfusedPair("C", "A", 2) }, interpretation.MostConfused(minVal: 2).ToArray());
        Assert.AreEqual(5.0 / 6, interpretation.ErrorRate, 1e-12);
    }

    [TestMethod]
    public void Top_losses_are_sorted_by_loss_and_carry_the_predicted_class_probability()
    {
        string[] classes = ["A", "B"];
        var interpretation = new ClassificationInterpretation(classes, [[0.8f, 0.2f], [0.3f, 0.7f], [0.6f, 0.4f]], [0, 0, 1], [0.22f, 1.2f, 0.92f]);
        var top = interpretation.TopLosses(2);
        Assert.AreEqual(2, top.Count);
        Assert.AreEqual(new TopLoss(1, "A", "B", 1.2f, 0.7f, null), top[0]);
        Assert.AreEqual(new TopLoss(2, "B", "A", 0.92f, 0.6f, null), top[1]);
        Assert.AreEqual(0, interpretation.TopLosses(largest: false)[0].Index);
    }

    [TestMethod]
    public void Confusion_matrix_of_37_classes_is_sized_to_the_class_count_and_decodes()
    {
        var names = Enumerable.Range(0, 37).Select(i => i % 2 == 0 ? $"american_pit_bull_terrier_{i}" : $"Breed_{i}").ToList();
        var counts = new int[37, 37];
        for (int i = 0; i < 37; i++) { counts[i, i] = 40 + i; counts[i, (i + 3) % 37] = i % 5; }
        using var temp = new TempFolder();
        var path = temp.Combine("cm37.png");
        ConfusionMatrixPlot.Save(counts, names, path);
        using var bitmap = SKBitmap.Decode(path);
        Assert.IsNotNull(bitmap);
        var (w, h) = ConfusionMatrixPlot.Measure(counts, names);
        Assert.AreEqual((w, h), (bitmap.Width, bitmap.Height));
        Assert.IsTrue(w >= 37 * ConfusionMatrixPlot.MinCell && h >= 37 * ConfusionMatrixPlot.MinCell, $"{w}x{h}");
        if (Environment.GetEnvironmentVariable("PETSML_KEEP_PICTURES") is { } keep) File.Copy(path, Path.Combine(keep, "cm37.png"), true);
    }
}
