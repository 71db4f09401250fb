namespace PetsML.Trainers.Training;

/// <summary>
/// Resuming a fine_tune as a callback (fastai resumes with a callback that skips to the epoch): the fine_tune passes it to
/// each of its fits and starts the fit that was interrupted at the checkpoint's epoch (<see cref="TrainingContext.StartEpoch"/>);
/// in that fit's BeforeFit, after every other callback has reset itself (<see cref="CallbackOrder.Resume"/>), it puts back
/// what the checkpoint holds: the weights, the data epoch, and, inside a fit, the optimizer state, the smoothed loss and
/// the state of every <see cref="IResumableCallback"/>. The remaining epochs then compute exactly what the uninterrupted
/// fine_tune would have. A fit the checkpoint had finished is not run at all; later fits start afresh, as they would have.
/// </summary>
internal sealed class ResumeFromCheckpoint : ILearnerCallback
{
    readonly TrainingCheckpoint _checkpoint;
    bool _restored;

    /// <exception cref="ArgumentException">The checkpoint is of another fine_tune (other arguments).</exception>
    public ResumeFromCheckpoint(TrainingCheckpoint checkpoint, FineTunePlan plan)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        checkpoint.Plan.EnsureSameAs(plan);
        _checkpoint = checkpoint;
        Plan = plan;
    }

    public int Order => CallbackOrder.Resume;

    /// <summary>The fine_tune being resumed.</summary>
    public FineTunePlan Plan { get; }

    /// <summary>Epochs of the fine_tune the checkpoint had finished.</summary>
    public int EpochsDone => _checkpoint.EpochsDone;

    /// <summary>The epoch the frozen fit starts at (its length when the checkpoint is past it: then it is not run).</summary>
    public int FrozenStart => Math.Min(EpochsDone, Plan.FreezeEpochs);

    /// <summary>The epoch the unfrozen fit starts at.</summary>
    public int UnfrozenStart => Math.Max(0, EpochsDone - Plan.FreezeEpochs);

    public void BeforeFit(TrainingContext context)
    {
        // The first fit that runs is the interrupted one; the fits after it start afresh.
        if (context.IsLrFind || _restored) return;
        _restored = true;
        var learner = context.Learner;
        _checkpoint.RestoreModel(learner.Model);
        // The data drawn so far, the skipped epochs of this fit included, is what the checkpoint had drawn.
        learner.DataEpoch = _checkpoint.DataEpoch;
        if (context.StartEpoch == 0) return;
        _checkpoint.RestoreOptimizer(learner.Optimizer);
        if (_checkpoint.SmoothedLoss is { } smoothing) learner.Recorder.RestoreSmoothing(smoothing);
        RestoreCallbackStates(learner.Callbacks, _checkpoint.CallbackStates);
    }

    /// <summary>Gives each <see cref="IResumableCallback"/> the state the checkpoint stored for it.</summary>
    static void RestoreCallbackStates(IReadOnlyList<ILearnerCallback> callbacks, IReadOnlyDictionary<string, byte[]> states)
    {
        // Both directions are refused: a resumed run with a callback more or less than the interrupted one would not compute the same epochs.
        var resumable = callbacks.OfType<IResumableCallback>().ToList();
        var missing = resumable.Select(c => c.StateKey).Except(states.Keys, StringComparer.Ordinal).ToList();
        var orphans = states.Keys.Except(resumable.Select(c => c.StateKey), StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || orphans.Count > 0)
            throw new ArgumentException("The checkpoint's callbacks differ from this learner's (" +
                string.Join("; ", new[] { orphans.Count > 0 ? $"only the checkpoint has {string.Join(", ", orphans)}" : null,
                    missing.Count > 0 ? $"only this learner has {string.Join(", ", missing)}" : null }.OfType<string>()) +
                "); resume with the same callbacks (training tricks).");
        foreach (var callback in resumable) callback.RestoreState(states[callback.StateKey]);
    }
}
