namespace PetsML.Trainers.Scheduling;

/// <summary>
/// A hyper-parameter value as a function of the position in training, <c>pos</c> ∈ [0, 1]
/// (fastai's <c>pct_train</c>: batch k of a fit sees k / (batches per epoch · epochs)).
/// </summary>
internal delegate double Schedule(double pos);

/// <summary>
/// fastai's schedule building blocks (<c>callback/schedule.py</c>) as pure functions of the position.
/// Nothing here keeps state, so a schedule can be evaluated at any position, e.g. by a test or a plot.
/// </summary>
internal static class Schedules
{
    /// <summary>Cosine from <paramref name="start"/> (pos 0) to <paramref name="end"/> (pos 1): start + (1 + cos(π(1 − pos)))·(end − start)/2.</summary>
    public static double Cos(double start, double end, double pos) =>
        start + (1 + Math.Cos(Math.PI * (1 - pos))) * (end - start) / 2;

    /// <summary>Linear from <paramref name="start"/> to <paramref name="end"/>: start + pos·(end − start).</summary>
    public static double Lin(double start, double end, double pos) => start + pos * (end - start);

    /// <summary>Exponential (geometric) from <paramref name="start"/> to <paramref name="end"/>: start·(end/start)^pos.</summary>
    public static double Exp(double start, double end, double pos) => start * Math.Pow(end / start, pos);

    /// <summary>Cosine schedule from <paramref name="start"/> to <paramref name="end"/> (fastai's <c>SchedCos</c>).</summary>
    public static Schedule SchedCos(double start, double end) => pos => Cos(start, end, pos);

    /// <summary>Linear schedule (fastai's <c>SchedLin</c>).</summary>
    public static Schedule SchedLin(double start, double end) => pos => Lin(start, end, pos);

    /// <summary>Exponential schedule (fastai's <c>SchedExp</c>); both ends must be positive.</summary>
    public static Schedule SchedExp(double start, double end)
    {
        if (!(start > 0) || !(end > 0))
            throw new ArgumentOutOfRangeException(nameof(start), $"An exponential schedule needs positive ends; got start={start}, end={end}.");
        return pos => Exp(start, end, pos);
    }

    /// <summary>Constant schedule (fastai's <c>SchedNo</c>): always <paramref name="value"/>.</summary>
    public static Schedule SchedNo(double value) => _ => value;

    /// <summary>
    /// Chains <paramref name="schedules"/>, schedule i covering the fraction <paramref name="pcts"/>[i]
    /// of training (fastai's <c>combine_scheds</c>). The segment is the last boundary ≤ pos (capped to the
    /// last segment), so at a position exactly on a boundary the next schedule starts at its own pos 0.
    /// </summary>
    /// <exception cref="ArgumentException">Counts differ, a fraction is negative, or they do not sum to 1.</exception>
    public static Schedule CombineScheds(IReadOnlyList<double> pcts, IReadOnlyList<Schedule> schedules)
    {
        ArgumentNullException.ThrowIfNull(pcts);
        ArgumentNullException.ThrowIfNull(schedules);
        if (pcts.Count == 0 || pcts.Count != schedules.Count)
            throw new ArgumentException($"pcts ({pcts.Count}) and schedules ({schedules.Count}) must be non-empty and of the same length.", nameof(pcts));
        if (pcts.Any(p => !(p >= 0)))
            throw new ArgumentException("Every fraction in pcts must be ≥ 0.", nameof(pcts));
        if (Math.Abs(pcts.Sum() - 1) > 1e-9)
            throw new ArgumentException($"pcts must sum to 1; they sum to {pcts.Sum()}.", nameof(pcts));

        // Boundaries: cumulative sums with a leading 0 (fastai: tensor([0] + pcts).cumsum(0)).
        var bounds = new double[pcts.Count + 1];
        for (int i = 0; i < pcts.Count; i++) bounds[i + 1] = bounds[i] + pcts[i];
        var scheds = schedules.ToArray();
        return pos =>
        {
            // Index of the last boundary ≤ pos among the segment starts, capped to the last segment.
            int idx = 0;
            for (int i = 0; i < bounds.Length; i++)
                if (pos >= bounds[i]) idx = i;
            idx = Math.Min(idx, scheds.Length - 1);
            double local = (pos - bounds[idx]) / (bounds[idx + 1] - bounds[idx]);
            return scheds[idx](local);
        };
    }

    /// <summary>
    /// Cosine from <paramref name="start"/> to <paramref name="middle"/> over the first <paramref name="pct"/>
    /// of training, then cosine from <paramref name="middle"/> to <paramref name="end"/> (fastai's <c>combined_cos</c>,
    /// the one-cycle shape).
    /// </summary>
    public static Schedule CombinedCos(double pct, double start, double middle, double end)
    {
        if (!(pct >= 0 && pct <= 1))
            throw new ArgumentOutOfRangeException(nameof(pct), pct, "pct must lie in [0, 1].");
        return CombineScheds(new[] { pct, 1 - pct }, new[] { SchedCos(start, middle), SchedCos(middle, end) });
    }
}
