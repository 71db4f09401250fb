namespace PetsML.Trainers.Training;

/// <summary>
/// fastai's <c>AvgSmoothLoss</c>: an exponential moving average of batch losses, debiased.
/// val ← β·val + (1 − β)·loss; reported as val / (1 − β^count). β defaults to 0.98.
/// </summary>
internal sealed class SmoothedLoss
{
    /// <summary>fastai's smoothing factor, 0.98.</summary>
    public const double DefaultBeta = 0.98;

    private double _value;

    public SmoothedLoss(double beta = DefaultBeta)
    {
        if (!(beta >= 0 && beta < 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must lie in [0, 1).");
        Beta = beta;
    }

    /// <summary>The smoothing factor.</summary>
    public double Beta { get; }

    /// <summary>How many losses were added since the last reset.</summary>
    public int Count { get; private set; }

    /// <summary>The debiased smoothed loss; NaN before the first loss.</summary>
    public double Value => Count == 0 ? double.NaN : _value / (1 - Math.Pow(Beta, Count));

    /// <summary>Adds one batch loss.</summary>
    public void Add(double loss)
    {
        Count++;
        // torch.lerp(loss, val, beta) in fastai = beta·val + (1 − beta)·loss.
        _value = Beta * _value + (1 - Beta) * loss;
    }

    /// <summary>What a checkpoint stores to continue this average after a restart.</summary>
    public SmoothedLossState State => new(_value, Count);

    /// <summary>Continues from a saved <see cref="State"/>.</summary>
    public void Restore(SmoothedLossState state)
    {
        if (state.Count < 0 || !double.IsFinite(state.Sum))
            throw new ArgumentOutOfRangeException(nameof(state), state, "A smoothed-loss state has a finite sum and a count ≥ 0.");
        _value = state.Sum;
        Count = state.Count;
    }

    /// <summary>Starts again (fastai resets at the start of every fit).</summary>
    public void Reset()
    {
        _value = 0;
        Count = 0;
    }
}

/// <summary>The state of a <see cref="SmoothedLoss"/>: the biased moving average (before debiasing) and the number of losses added.</summary>
internal readonly record struct SmoothedLossState(double Sum, int Count);
