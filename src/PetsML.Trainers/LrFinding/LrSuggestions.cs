namespace PetsML.Trainers.LrFinding;

/// <summary>
/// fastai's learning-rate suggestions (<c>valley</c>, <c>minimum</c>, <c>steep</c>, <c>slide</c>) as pure functions of
/// the learning rates and smoothed losses recorded by the finder. <see cref="Trim"/> first drops the first
/// num_it/10 and the last 5 points and cuts the curve at its first NaN, as <c>lr_find</c> does. Each function
/// returns NaN when the trimmed curve is too short for it.
/// </summary>
internal static class LrSuggestions
{
    /// <summary>
    /// <c>lrs[num_it//10 : -5]</c>, <c>losses[num_it//10 : -5]</c> (Python slice semantics: empty when fewer than
    /// num_it/10 + 5 points), truncated before the first NaN loss.
    /// </summary>
    public static (double[] Lrs, double[] Losses) Trim(IReadOnlyList<double> lrs, IReadOnlyList<double> losses, int numIt)
    {
        ArgumentNullException.ThrowIfNull(lrs);
        ArgumentNullException.ThrowIfNull(losses);
        if (lrs.Count != losses.Count) throw new ArgumentException($"lrs ({lrs.Count}) and losses ({losses.Count}) must have the same length.", nameof(losses));
        int start = numIt / 10, end = losses.Count - 5;
        if (end <= start) return ([], []);
        var l = lrs.Skip(start).Take(end - start).ToArray();
        var y = losses.Skip(start).Take(end - start).ToArray();
        int firstNaN = Array.FindIndex(y, double.IsNaN);
        if (firstNaN >= 0)
        {
            l = l[..firstNaN];
            y = y[..firstNaN];
        }
        return (l, y);
    }

    /// <summary>
    /// fastai's default, <c>valley</c>: the longest strictly decreasing subsequence of the losses (O(n²) DP); its
    /// end is the first index reaching the maximal length, its start one before the subsequence's first point;
    /// the suggestion sits int(len/3) + int(len/6) after that start.
    /// </summary>
    /// <remarks>
    /// Follows fastai's code exactly, including its starting values max_start = max_end = 0: a curve that never
    /// decreases gives index 0.
    /// </remarks>
    public static double Valley(IReadOnlyList<double> lrs, IReadOnlyList<double> losses)
    {
        int n = losses.Count;
        if (n == 0) return double.NaN;
        var lds = Enumerable.Repeat(1, n).ToArray();
        int maxStart = 0, maxEnd = 0;
        for (int i = 1; i < n; i++)
            for (int j = 0; j < i; j++)
            {
                if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
                if (lds[maxEnd] < lds[i])
                {
                    maxEnd = i;
                    maxStart = maxEnd - lds[maxEnd];
                }
            }
        double sections = (maxEnd - maxStart) / 3.0;
        int idx = maxStart + (int)sections + (int)(sections / 2);
        return lrs[idx];
    }

    /// <summary>fastai's <c>minimum</c>: the learning rate at the lowest loss, divided by 10.</summary>
    public static double Minimum(IReadOnlyList<double> lrs, IReadOnlyList<double> losses)
    {
        if (losses.Count == 0) return double.NaN;
        return lrs[ArgMin(losses)] / 10;
    }

    /// <summary>
    /// fastai's <c>steep</c>: the left point of the segment with the most negative slope
    /// (loss[i+1] − loss[i]) / (ln lr[i+1] − ln lr[i]).
    /// </summary>
    public static double Steep(IReadOnlyList<double> lrs, IReadOnlyList<double> losses)
    {
        if (losses.Count < 2) return double.NaN;
        var slopes = new double[losses.Count - 1];
        for (int i = 0; i < slopes.Length; i++)
            slopes[i] = (losses[i + 1] - losses[i]) / (Math.Log(lrs[i + 1]) - Math.Log(lrs[i]));
        return lrs[ArgMin(slopes)];
    }

    /// <summary>
    /// fastai's <c>slide</c> (lr_diff 15, thresh 0.005, adjust_value 1): slide a window of <paramref name="lrDiff"/> points
    /// leftwards from the end while the loss gradients (numpy central differences) at its two ends differ by more
    /// than <paramref name="threshold"/>; the suggestion is the left end's lr when it stops.
    /// </summary>
    public static double Slide(IReadOnlyList<double> lrs, IReadOnlyList<double> losses, int lrDiff = 15, double threshold = 0.005, double adjustValue = 1.0)
    {
        int n = losses.Count;
        if (n < 2) return n == 1 ? lrs[0] : double.NaN;
        if (lrDiff + 1 > n) return double.NaN; // fastai would index out of range here
        var grad = Gradient(losses);
        // Python negative indices: -1 is the last element.
        int r = -1, l = r - lrDiff;
        double candidate = lrs[n + l];
        while (l >= -n && Math.Abs(grad[n + r] - grad[n + l]) > threshold)
        {
            candidate = lrs[n + l];
            r--;
            l--;
        }
        return candidate * adjustValue;
    }

    /// <summary>numpy's <c>gradient</c> with unit spacing: one-sided differences at the ends, central inside.</summary>
    public static double[] Gradient(IReadOnlyList<double> values)
    {
        int n = values.Count;
        if (n < 2) throw new ArgumentException("At least two values are needed for a gradient.", nameof(values));
        var g = new double[n];
        g[0] = values[1] - values[0];
        g[n - 1] = values[n - 1] - values[n - 2];
        for (int i = 1; i < n - 1; i++) g[i] = (values[i + 1] - values[i - 1]) / 2;
        return g;
    }

    private static int ArgMin(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] < values[best]) best = i;
        return best;
    }
}
