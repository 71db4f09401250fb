using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>SaveModelCallback(monitor='valid_loss')</c>, kept in memory: after every epoch with a lower validation
/// loss than any before it in the fit, copies the model's weights and buffers; at the end of the fit puts the best
/// epoch's back and marks that epoch's row <see cref="EpochRecord.Kept"/>. Like fastai it starts afresh in every fit
/// (each fit of a fine_tune ends on its own best epoch). At <see cref="CallbackOrder.KeepBest"/>: after the recorder, which
/// computes the loss. A checkpoint taken inside a fit stores the best epoch, its loss and its weights
/// (<see cref="IResumableCallback"/>), so a resumed fit ends on the same epoch as the uninterrupted one, even one from before
/// the interruption.
/// </summary>
public sealed class KeepBestEpoch : BestValidLossTracker, IResumableCallback
{
    byte[]? _best;

    public override int Order => CallbackOrder.KeepBest;

    public override void BeforeFit(TrainingContext context)
    {
        base.BeforeFit(context);
        _best = null;
    }

    protected override void OnImproved(TrainingContext context)
    {
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
            if (epoch < 0) { RestoreBest(double.PositiveInfinity, null); _best = null; }
            else { RestoreBest(loss, epoch); _best = best; }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"The keep-best state is truncated: {e.Message}", e);
        }
    }
}
