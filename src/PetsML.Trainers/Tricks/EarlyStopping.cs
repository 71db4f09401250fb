using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>EarlyStoppingCallback(monitor='valid_loss', min_delta=0, patience=1)</c>: ends the fit when the
/// validation loss has not gone below its best − <see cref="MinDelta"/> for <see cref="Patience"/> epochs in a row.
/// Starts afresh in every fit. Order 95: after every other callback's AfterEpoch (the checkpoint keeps the last epoch).
/// </summary>
public sealed class EarlyStopping : ILearnerCallback
{
    public EarlyStopping(int patience = 1, double minDelta = 0)
    {
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be at least 1.");
        if (!(minDelta >= 0) || !double.IsFinite(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be ≥ 0 and finite.");
        Patience = patience;
        MinDelta = minDelta;
    }

    public int Order => 95;

    /// <summary>Epochs without improvement that end the fit.</summary>
    public int Patience { get; }

    /// <summary>How much lower than the best the loss must be to count as better.</summary>
    public double MinDelta { get; }

    /// <summary>The 0-based epoch after which the last fit stopped early, or null.</summary>
    public int? StoppedAfter { get; private set; }

    double _best;
    int _wait;

    public void BeforeFit(TrainingContext context)
    {
        _best = double.PositiveInfinity;
        _wait = 0;
        StoppedAfter = null;
    }

    public void AfterEpoch(TrainingContext context)
    {
        if (context.IsLrFind) return;
        var rows = context.Learner.Recorder.Epochs;
        if (rows.Count == 0 || rows[^1].ValidLoss is not { } validLoss) return;
        if (validLoss - MinDelta < _best)
        {
            _best = validLoss;
            _wait = 0;
            return;
        }
        if (++_wait < Patience) return;
        StoppedAfter = context.Epoch;
        throw new CancelFitException();
    }
}
