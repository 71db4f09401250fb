using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>SaveModelCallback(monitor='valid_loss')</c>, kept in memory: after every epoch with a lower validation
/// loss than any before it in the fit, copies the model's weights and buffers; at the end of the fit puts the best
/// epoch's back and marks that epoch's row <see cref="EpochRecord.Kept"/>. Like fastai it starts afresh in every fit
/// (each fit of a fine_tune ends on its own best epoch). Order 60: after the recorder, which computes the loss.
/// A checkpoint taken inside a fit stores the best epoch, its loss and its weights (<see cref="IResumableCallback"/>), so a
/// resumed fit ends on the same epoch as the uninterrupted one, even one from before the interruption.
/// </summary>
public sealed class KeepBestEpoch : IResumableCallback
{
    byte[]? _best;

    public int Order => 60;

    /// <summary>The 0-based epoch (within the last fit) whose weights were kept, or null.</summary>
    public int? BestEpoch { get; private set; }

    /// <summary>Its validation loss (+∞ before any).</summary>
    public double BestValidLoss { get; private set; } = double.PositiveInfinity;

    public void BeforeFit(TrainingContext context)
    {
        _best = null;
        BestEpoch = null;
        BestValidLoss = double.PositiveInfinity;
    }

    public void AfterEpoch(TrainingContext context)
    {
        if (context.IsLrFind) return;
        var rows = context.Learner.Recorder.Epochs;
        if (rows.Count == 0 || rows[^1].ValidLoss is not { } validLoss || !(validLoss < BestValidLoss)) return;
        BestValidLoss = validLoss;
        BestEpoch = rows[^1].Epoch;
        using var stream = new MemoryStream();
        context.Learner.Model.save(stream);
        _best = stream.ToArray();
    }

    public void AfterFit(TrainingContext context)
    {
        if (_best is null || BestEpoch is not { } best) return;
        using var stream = new MemoryStream(_best, writable: false);
        context.Learner.Model.load(stream, strict: true);
        context.Learner.Recorder.MarkKept(best);
    }

    public string StateKey => "keep-best";

    public byte[] SaveState()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(BestEpoch ?? -1);
            writer.Write(BestValidLoss);
            writer.Write(_best?.Length ?? 0);
            if (_best is not null) writer.Write(_best);
        }
        return stream.ToArray();
    }

    public void RestoreState(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(state, writable: false));
            int epoch = reader.ReadInt32();
            double loss = reader.ReadDouble();
            int length = reader.ReadInt32();
            if (length < 0 || length > state.Length - 16 || (epoch < 0) != (length == 0))
                throw new InvalidDataException($"the kept weights ({length} bytes) do not match the best epoch ({epoch}).");
            var best = reader.ReadBytes(length);
            (BestEpoch, BestValidLoss, _best) = epoch < 0 ? ((int?)null, double.PositiveInfinity, (byte[]?)null) : (epoch, loss, best);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"The keep-best state is truncated: {e.Message}", e);
        }
    }
}
