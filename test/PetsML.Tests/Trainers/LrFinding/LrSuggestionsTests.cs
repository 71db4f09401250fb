using PetsML.Trainers.LrFinding;

namespace PetsML.Tests.Trainers.LrFinding;

/// <summary>
/// fastai's four suggestions on a fixed synthetic curve over lr_find's grid lr_i = 10^(−7 + 0.08 i), i = 0..99:
/// flat at 2 up to i = 30, a quadratic descent 2 − 1.5((i−30)/40)² down to 0.5 at i = 70, flat at 0.5 up to
/// i = 81, then rising by 0.1 per point. Expectations are derived by hand in the comments.
/// </summary>
[TestClass]
public sealed class LrSuggestionsTests
{
    private static readonly double[] Lrs = Enumerable.Range(0, 100).Select(i => Math.Pow(10, -7 + 0.08 * i)).ToArray();

    private static double Loss(int i) => i switch
    {
        < 30 => 2.0,
        <= 70 => 2 - 1.5 * Math.Pow((i - 30) / 40.0, 2),
        <= 81 => 0.5,
        _ => 0.5 + 0.1 * (i - 81),
    };

    private static readonly double[] Losses = Enumerable.Range(0, 100).Select(Loss).ToArray();

    [TestMethod]
    public void Trim_drops_the_first_tenth_and_the_last_five_and_stops_at_nan()
    {
        var (lrs, losses) = LrSuggestions.Trim(Lrs, Losses, 100);
        Assert.AreEqual(85, losses.Length);
        Assert.AreEqual(Lrs[10], lrs[0]);
        Assert.AreEqual(Lrs[94], lrs[^1]);

        var withNaN = (double[])Losses.Clone();
        withNaN[60] = double.NaN;
        var (cutLrs, cutLosses) = LrSuggestions.Trim(Lrs, withNaN, 100);
        Assert.AreEqual(50, cutLosses.Length, "points 10..59 remain");
        Assert.AreEqual(50, cutLrs.Length);
        Assert.AreEqual(0, LrSuggestions.Trim(Lrs.Take(14).ToList(), Losses.Take(14).ToList(), 100).Losses.Length);
    }

    [TestMethod]
    public void Four_suggestions_on_the_synthetic_curve()
    {
        var r = LrFindResult.FromCurve(Lrs, Losses, 100);

        // minimum: the lowest loss 0.5 first occurs at i = 70; suggestion lr/10.
        Assert.AreEqual(Lrs[70] / 10, r.Minimum, 1e-20);

        // steep: the quadratic falls fastest on its last segment 69→70 (Δ = −1.5·(40²−39²)/1600); log-lr steps are equal.
        Assert.AreEqual(Lrs[69], r.Steep);

        // valley: longest strictly decreasing run = one flat point + i = 31..70 (41 points), first reached at i = 70
        // (trimmed index 60); max_start = 60 − 41 = 19; sections = 41/3 → int 13, int(6.83) = 6; idx = 38 → i = 48.
        Assert.AreEqual(Lrs[48], r.Valley);

        // slide: gradients (central differences) are 0.1 on the rise, 0 on plateaus and −0.001875·(i−30) on the
        // quadratic. The 15-point window keeps sliding while its ends differ by > 0.005; at (r, l) = (i 33, i 18) they
        // differ by 0.005625 (candidate lr_18), at (i 32, i 17) only by 0.00375, so it stops: lr_18.
        Assert.AreEqual(Lrs[18], r.Slide);
    }

    [TestMethod]
    public void Gradient_matches_numpy_and_degenerate_curves_give_nan_or_the_first_point()
    {
        CollectionAssert.AreEqual(new[] { 1.0, 1.5, 2.5, 3.0 }, LrSuggestions.Gradient([0.0, 1.0, 3.0, 6.0]));
        Assert.IsTrue(double.IsNaN(LrSuggestions.Valley([], [])));
        Assert.IsTrue(double.IsNaN(LrSuggestions.Slide([1, 2, 3], [1, 1, 1])), "shorter than the 15-point window");
        // A curve that never decreases: fastai's DP keeps max_start = max_end = 0, so index 0.
        Assert.AreEqual(1.0, LrSuggestions.Valley([1.0, 2.0, 3.0], [0.1, 0.2, 0.3]));
    }
}
