namespace PetsML.Trainers.Training;

/// <summary>
/// Writes a <see cref="TrainingCheckpoint"/> to <see cref="Path"/> at the end of every finished training epoch of a
/// <see cref="Learner.FineTune"/> but the last (lr_find's epochs are skipped), replacing the previous one atomically.
/// After the last epoch the caller saves the model instead: a checkpoint then would cost the disk space the model needs.
/// A checkpoint that cannot be written (a full disk, a folder in the way) is a warning, not the end of the run: the
/// previous checkpoint stays as it was. Order <see cref="CallbackOrder.Checkpoint"/>: after the recorder, the scheduler, keeping the best epoch and early
/// stopping. The checkpoint of a fit's last epoch is written at the end of that fit (AfterFit), once keeping the best
/// epoch has put its weights back, so it is exactly the start of the next fit; so is the one of a fit that early stopping
/// ended (it counts as all of that fit's epochs done). Attach it for the fine_tune only: it counts epochs from
/// <paramref name="epochsDone"/> on, so other fits would be counted too.
/// </summary>
/// <param name="path">The checkpoint file (for example the model path + ".checkpoint").</param>
/// <param name="plan">The fine_tune's arguments.</param>
/// <param name="classNames">The classes in key order.</param>
/// <param name="settings">The caller's settings to store (what rebuilds the data and the model).</param>
/// <param name="epochsDone">Epochs already done when the fine_tune starts (a resumed checkpoint's <see cref="TrainingCheckpoint.EpochsDone"/>).</param>
/// <param name="warn">Receives the warning when a checkpoint cannot be written; null to only collect it in <see cref="Warnings"/>.</param>
internal sealed class CheckpointCallback(string path, FineTunePlan plan, IReadOnlyList<string> classNames,
    IReadOnlyDictionary<string, string>? settings = null, int epochsDone = 0, Action<string>? warn = null) : ILearnerCallback
{
    readonly List<string> _warnings = [];
    int _fitStart;
    bool _fitFinished;

    public int Order => CallbackOrder.Checkpoint;

    /// <summary>The checkpoint file.</summary>
    public string Path { get; } = path ?? throw new ArgumentNullException(nameof(path));

    /// <summary>Epochs of the fine_tune finished so far.</summary>
    public int EpochsDone { get; private set; } = epochsDone;

    /// <summary>The epochs held by the checkpoint this callback last wrote (0 before its first write).</summary>
    public int SavedEpochs { get; private set; }

    /// <summary>True once this callback has written a checkpoint (it is then at <see cref="Path"/>).</summary>
    public bool Written => SavedEpochs > 0;

    /// <summary>The checkpoints that could not be written, one line each.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Writes the checkpoint; tests replace it to simulate a full disk.</summary>
    internal Action<TrainingCheckpoint, string> Save { get; init; } = static (checkpoint, file) => checkpoint.Save(file);

    /// <summary>The training plan stored in each checkpoint (a resumed run uses it, not a new decision); null stores none.</summary>
    public FineTuning.TrainingPlan? TrainingPlan { get; init; }

    /// <summary>Called after each checkpoint written, with the epochs it holds (for example to tell the user how to resume later).</summary>
    public Action<int>? OnWritten { get; init; }

    public void BeforeFit(TrainingContext context)
    {
        if (context.IsLrFind) return;
        _fitStart = EpochsDone - context.StartEpoch;
        _fitFinished = false;
    }

    public void AfterEpoch(TrainingContext context)
    {
        if (context.IsLrFind) return;
        EpochsDone++;
        // The fit's last epoch: AfterFit writes it, after the callbacks that end a fit (keep-best) have run.
        if (context.Epoch == context.EpochCount - 1) { _fitFinished = true; return; }
        TrySave(context);
    }

    public void AfterFit(TrainingContext context)
    {
        // A fit that ended with an exception (Ctrl+C, a diverged loss) keeps the checkpoint of its last finished epoch.
        if (context.IsLrFind || !(_fitFinished || context.StoppedEarly)) return;
        // Early stopping skipped the fit's remaining epochs: they count as done, so a resume starts the next fit.
        EpochsDone = _fitStart + context.EpochCount;
        TrySave(context);
    }

    void TrySave(TrainingContext context)
    {
        if (EpochsDone >= plan.TotalEpochs) return;
        try
        {
            Save(TrainingCheckpoint.Capture(context.Learner, plan, EpochsDone, classNames, settings, TrainingPlan), Path);
            SavedEpochs = EpochsDone;
            OnWritten?.Invoke(EpochsDone);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var kept = Written ? $"{Path} still holds epoch {SavedEpochs}" : "any earlier checkpoint file is unchanged";
            var warning = $"Could not write the checkpoint after epoch {EpochsDone} of {plan.TotalEpochs} to {Path}: {e.Message} Training goes on; {kept}.";
            _warnings.Add(warning);
            warn?.Invoke(warning);
        }
    }
}
