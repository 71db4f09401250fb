using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>EarlyStoppingCallback(monitor='valid_loss', min_delta=0, patience=1)</c>: ends the fit when the
/// validation loss has not gone below its best − <see cref="MinDelta"/> for <see cref="Patience"/> epochs in a row.
/// Starts afresh in every fit. Order 80: after the recorder (50), keeping the best epoch (60) and the epoch log (70), and
/// before the checkpoint (90), which therefore stores the counter as it is after the epoch (<see cref="IResumableCallback"/>:
/// a resumed fit stops after the same epoch as the uninterrupted one); when it stops the fit, the checkpoint is written at
/// the end of the fit instead, as the start of the next one.
/// </summary>
public sealed class EarlyStopping : IResumableCallback
{
    public EarlyStopping(int patience = 1, double minDelta = 0)
    {
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be at least 1.");
        if (!(minDelta >= 0) || !double.IsFinite(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be ≥ 0 and finite.");
        Patience = patience;
        MinDelta = minDelta;
    }

    public int Order => 80;

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

    public string StateKey => "early-stopping";

    /// <summary>The best validation loss of the fit so far and the epochs since it.</summary>
    public byte[] SaveState()
    {
        var state = new byte[12];
        BitConverter.TryWriteBytes(state.AsSpan(0, 8), _best);
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
        (_best, _wait) = (best, wait);
    }
}
