namespace PetsML.Trainers.Training;

/// <summary>
/// Writes a <see cref="TrainingCheckpoint"/> to <see cref="Path"/> at the end of every finished training epoch of a
/// <see cref="Learner.FineTune"/> (lr_find's epochs are skipped), replacing the previous one atomically. Order 90: after
/// the recorder, the scheduler and the progress display. Attach it for the fine_tune only: it counts epochs from
/// <paramref name="epochsDone"/> on, so other fits would be counted too.
/// </summary>
/// <param name="path">The checkpoint file (for example the model path + ".checkpoint").</param>
/// <param name="plan">The fine_tune's arguments.</param>
/// <param name="classNames">The classes in key order.</param>
/// <param name="settings">The caller's settings to store (what rebuilds the data and the model).</param>
/// <param name="epochsDone">Epochs already done when the fine_tune starts (a resumed checkpoint's <see cref="TrainingCheckpoint.EpochsDone"/>).</param>
public sealed class CheckpointCallback(string path, FineTunePlan plan, IReadOnlyList<string> classNames,
    IReadOnlyDictionary<string, string>? settings = null, int epochsDone = 0) : ILearnerCallback
{
    public int Order => 90;

    /// <summary>The checkpoint file.</summary>
    public string Path { get; } = path ?? throw new ArgumentNullException(nameof(path));

    /// <summary>Epochs of the fine_tune finished so far (and saved).</summary>
    public int EpochsDone { get; private set; } = epochsDone;

    /// <summary>True once this callback has written a checkpoint.</summary>
    public bool Written { get; private set; }

    public void AfterEpoch(TrainingContext context)
    {
        if (context.IsLrFind) return;
        EpochsDone++;
        TrainingCheckpoint.Capture(context.Learner, plan, EpochsDone, classNames, settings).Save(Path);
        Written = true;
    }
}
