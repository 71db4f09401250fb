using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>TrackerCallback(monitor='valid_loss')</c>, the one place that decides "best validation loss so far": after each
/// epoch of a fit (not lr_find's) it reads the recorder's row and calls <see cref="OnImproved"/> when the loss is lower than the
/// best − <see cref="MinDelta"/>, else <see cref="OnNotImproved"/>. Starts afresh in every fit. An epoch without a validation
/// loss (no validation set) is neither. <see cref="KeepBestEpoch"/> and <see cref="EarlyStopping"/> build on it.
/// </summary>
public abstract class BestValidLossTracker : ILearnerCallback
{
    /// <param name="minDelta">How much lower than the best a loss must be to count as better; ≥ 0 and finite.</param>
    protected BestValidLossTracker(double minDelta = 0)
    {
        if (!(minDelta >= 0) || !double.IsFinite(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be ≥ 0 and finite.");
        MinDelta = minDelta;
    }

    /// <inheritdoc/>
    public abstract int Order { get; }

    /// <summary>How much lower than the best a loss must be to count as better.</summary>
    public double MinDelta { get; }

    /// <summary>The lowest validation loss of the fit so far (+∞ before any).</summary>
    public double BestValidLoss { get; private set; } = double.PositiveInfinity;

    /// <summary>The 0-based epoch (within the fit) of <see cref="BestValidLoss"/>, or null before any.</summary>
    public int? BestEpoch { get; private set; }

    /// <summary>Called when this epoch's loss is the new best (<see cref="BestValidLoss"/> and <see cref="BestEpoch"/> already say so).</summary>
    protected abstract void OnImproved(TrainingContext context);

    /// <summary>Called when this epoch's loss is not better than the best.</summary>
    protected virtual void OnNotImproved(TrainingContext context) { }

    public virtual void BeforeFit(TrainingContext context) => (BestValidLoss, BestEpoch) = (double.PositiveInfinity, null);

    public void AfterEpoch(TrainingContext context)
    {
        if (context.IsLrFind) return;
        var rows = context.Learner.Recorder.Epochs;
        if (rows.Count == 0 || rows[^1].ValidLoss is not { } validLoss) return;
        if (validLoss - MinDelta < BestValidLoss)
        {
            (BestValidLoss, BestEpoch) = (validLoss, rows[^1].Epoch);
            OnImproved(context);
        }
        else OnNotImproved(context);
    }

    /// <summary>Puts back the best of a fit a checkpoint interrupted (its epoch may be unknown: null).</summary>
    private protected void RestoreBest(double loss, int? epoch)
    {
        if (double.IsNaN(loss)) throw new InvalidDataException("The stored best validation loss is not a number.");
        (BestValidLoss, BestEpoch) = (loss, epoch);
    }
}
