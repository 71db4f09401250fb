using PetsML.Trainers.Training;

namespace PetsML.Trainers.FineTuning;

/// <summary>Writes fastai's table header once and one row per finished training epoch (not lr_find's) to a log.</summary>
internal sealed class EpochLogger(Action<string> log) : ILearnerCallback
{
    bool _headerWritten;

    public int Order => CallbackOrder.Report;

    public void AfterEpoch(TrainingContext context)
    {
        if (context.IsLrFind) return; // lr_find's epochs are not training epochs: fastai prints no table for them either
        var last = context.Learner.Recorder.Epochs.LastOrDefault();
        if (last is null) return;
        var lines = Recorder.FormatTable(new[] { last }).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (!_headerWritten) { log(lines[0]); _headerWritten = true; }
        foreach (var line in lines.Skip(1)) log(line);
    }

    public void AfterFit(TrainingContext context)
    {
        // The live rows were written before the choice was made: say which epoch's weights the fit ended with.
        if (context.IsLrFind || context.Learner.Recorder.Epochs.FirstOrDefault(r => r.Kept) is not { } kept) return;
        log(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"kept epoch {kept.Epoch} (lowest valid_loss {kept.ValidLoss:F6}): the fit ends with its weights"));
    }
}
