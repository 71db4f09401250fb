using PetsML.Trainers.Losses;
using PetsML.Trainers.Training;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

[TestClass]
public sealed class LossesAndRecorderTests
{
    private static readonly float[] LogitValues = [2f, 0.5f, -1f, 0.1f, 0.2f, 0.3f];
    private static readonly long[] TargetValues = [0, 1];

    private static double[] LogSoftmaxRow(int row)
    {
        var z = LogitValues.Skip(row * 3).Take(3).Select(v => (double)v).ToArray();
        double lse = Math.Log(z.Sum(Math.Exp));
        return z.Select(v => v - lse).ToArray();
    }

    [TestMethod]
    public void Cross_entropy_and_label_smoothing_match_their_formulas()
    {
        using var logits = tensor(LogitValues, [2, 3]);
        using var targets = tensor(TargetValues);
        double[] ce = [-LogSoftmaxRow(0)[0], -LogSoftmaxRow(1)[1]];
        using var ceNone = ClassificationLoss.CrossEntropy.Compute(logits, targets, LossReduction.None);
        using var ceMean = ClassificationLoss.CrossEntropy.Compute(logits, targets);
        Assert.AreEqual(ce[0], ceNone.data<float>()[0], 1e-6);
        Assert.AreEqual(ce[1], ceNone.data<float>()[1], 1e-6);
        Assert.AreEqual(ce.Average(), ceMean.item<float>(), 1e-6);

        const double eps = 0.1;
        double[] ls = Enumerable.Range(0, 2).Select(r => eps / 3 * -LogSoftmaxRow(r).Sum() + (1 - eps) * ce[r]).ToArray();
        using var lsMean = ClassificationLoss.LabelSmoothing().Compute(logits, targets);
        using var lsNone = ClassificationLoss.LabelSmoothing(eps).Compute(logits, targets, LossReduction.None);
        Assert.AreEqual(ls.Average(), lsMean.item<float>(), 1e-6);
        Assert.AreEqual(ls[1], lsNone.data<float>()[1], 1e-6);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ClassificationLoss.LabelSmoothing(1.0));

        Assert.AreEqual(0.5, ClassificationMetrics.Accuracy(logits, targets), 1e-12);
        Assert.AreEqual(0.5, ClassificationMetrics.ErrorRate(logits, targets), 1e-12);
    }

    [TestMethod]
    public void Smoothed_loss_is_the_debiased_exponential_average()
    {
        double[] losses = [2.0, 1.5, 1.7, 0.9, 1.1];
        var s = new SmoothedLoss();
        for (int n = 1; n <= losses.Length; n++)
        {
            s.Add(losses[n - 1]);
            // Σ (1 − β) β^(n−i) l_i / (1 − β^n)
            double sum = 0;
            for (int i = 1; i <= n; i++) sum += (1 - 0.98) * Math.Pow(0.98, n - i) * losses[i - 1];
            Assert.AreEqual(sum / (1 - Math.Pow(0.98, n)), s.Value, 1e-12);
        }
        Assert.AreEqual(2.0, new Func<double>(() => { var f = new SmoothedLoss(); f.Add(2.0); return f.Value; })(), 1e-12, "one loss is its own average");
        s.Reset();
        Assert.IsTrue(double.IsNaN(s.Value));
    }

    [TestMethod]
    public void Epoch_table_has_fastai_columns_six_decimals_and_mm_ss()
    {
        var table = Recorder.FormatTable([
            new EpochRecord(0, 1.5513054, 0.3221318, 0.106225, 0.893775, TimeSpan.FromSeconds(20.7)),
            new EpochRecord(1, 0.5, null, null, null, TimeSpan.FromSeconds(3725)),
        ]);
        var lines = table.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.AreEqual(3, lines.Length);
        CollectionAssert.AreEqual(new[] { "epoch", "train_loss", "valid_loss", "error_rate", "accuracy", "time" },
            lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        CollectionAssert.AreEqual(new[] { "0", "1.551305", "0.322132", "0.106225", "0.893775", "00:20" },
            lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        CollectionAssert.AreEqual(new[] { "1", "0.500000", "None", "None", "None", "1:02:05" },
            lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
