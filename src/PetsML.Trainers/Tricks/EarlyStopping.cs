using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>EarlyStoppingCallback(monitor='valid_loss', min_delta=0, patience=1)</c>: ends the fit when the
/// validation loss has not gone below its best − <see cref="BestValidLossTracker.MinDelta"/> for <see cref="Patience"/>
/// epochs in a row. Starts afresh in every fit. At <see cref="CallbackOrder.Stop"/>: after the epoch's row is recorded, kept
/// and reported, and before the checkpoint, which therefore stores the counter as it is after the epoch
/// (<see cref="IResumableCallback"/>: a resumed fit stops after the same epoch as the uninterrupted one); when it stops the
/// fit, the checkpoint is written at the end of the fit instead, as the start of the next one.
/// </summary>
public sealed class EarlyStopping : BestValidLossTracker, IResumableCallback
{
    int _wait;

    public EarlyStopping(int patience = 1, double minDelta = 0) : base(minDelta)
    {
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be at least 1.");
        Patience = patience;
    }

    public override int Order => CallbackOrder.Stop;

    /// <summary>Epochs without improvement that end the fit.</summary>
    public int Patience { get; }

    /// <summary>The 0-based epoch after which the last fit stopped early, or null.</summary>
    public int? StoppedAfter { get; private set; }

    public override void BeforeFit(TrainingContext context)
    {
        base.BeforeFit(context);
        _wait = 0;
        StoppedAfter = null;
    }

    protected override void OnImproved(TrainingContext context) => _wait = 0;

    protected override void OnNotImproved(TrainingContext context)
    {
        if (++_wait < Patience) return;
        StoppedAfter = context.Epoch;
        throw new CancelFitException();
    }

    public string StateKey => "early-stopping";

    /// <summary>The best validation loss of the fit so far and the epochs since it.</summary>
    public byte[] SaveState()
    {
        var state = new byte[12];
        BitConverter.TryWriteBytes(state.AsSpan(0, 8), BestValidLoss);
        BitConverter.TryWriteBytes(state.AsSpan(8, 4), _wait);
        return state;
    }

    public void RestoreState(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != 12) throw new InvalidDataException($"The early-stopping state has {state.Length} bytes; expected 12.");
        double best = BitConverter.ToDouble(state, 0);
        int wait = BitConverter.ToInt32(state, 8);
        if (double.IsNaN(best) || wait < 0) throw new InvalidDataException($"The early-stopping state ({best}, {wait}) is not a loss with a count ≥ 0.");
        RestoreBest(best, epoch: null);
        _wait = wait;
    }
}
