using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// The never-lose-a-run knobs of <see cref="ImageFineTuningOptions.Checkpointing"/>: where <c>Fit</c> keeps a
/// <see cref="TrainingCheckpoint"/> of the fine_tune, what it stores beside the trainer's own settings, and which
/// checkpoint to continue from. Checkpoints belong to fine_tune: not with a <see cref="ImageFineTuningOptions.Recipe"/>
/// (attach a callback in the recipe instead).
/// </summary>
public sealed class CheckpointOptions
{
    /// <summary>The default values, written once.</summary>
    public static class Defaults
    {
        /// <summary>No checkpoint file: null.</summary>
        public const string? Path = null;
    }

    /// <summary>
    /// Where <c>Fit</c> keeps a <see cref="TrainingCheckpoint"/> of the fine_tune, so a stopped or failed run is never lost:
    /// written atomically (<see cref="AtomicFile"/>) after every finished epoch but the last (then the caller saves the model,
    /// which needs that disk space more); one that cannot be written is a warning on <see cref="ImageFineTuningOptions.Log"/>
    /// and training goes on; temporary files that killed runs left next to it are removed first. When Fit fails once a
    /// checkpoint exists, the log says which epoch it holds. Continue with <see cref="ResumeFrom"/>. Default null: none.
    /// </summary>
    public string? Path { get; set; } = Defaults.Path;

    /// <summary>
    /// Settings stored in each checkpoint beside the trainer's own (the training tricks' values): what the caller needs to
    /// rebuild its data and model when resuming (data folder, sizes, seeds...). Default null.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Settings { get; set; }

    /// <summary>
    /// A checkpoint of this same run (<see cref="TrainingCheckpoint.Load"/> of <see cref="Path"/>) to continue from:
    /// <c>Fit</c> skips its finished epochs and computes the remaining ones exactly as the uninterrupted run (same data and
    /// seed required). The checkpoint's training plan is used, not a new one: BatchSize, Epochs, FreezeEpochs and
    /// BaseLearningRate left unset take the checkpoint's (so a "find" is not re-run), and set ones must equal them, as must
    /// LrMult, the classes and the <see cref="ImageFineTuningOptions.Tricks"/> (LabelSmoothing, MixUp, CutMix,
    /// KeepBestEpoch, EarlyStoppingPatience, GradientAccumulationItems), else Fit throws naming what differs. Default null.
    /// </summary>
    public TrainingCheckpoint? ResumeFrom { get; set; }

    /// <summary>Called after each checkpoint is written, with the fine_tune's epochs it holds. Default null.</summary>
    public Action<int>? Written { get; set; }

    /// <summary>Checks every option and throws on the first bad one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        if (Path is not null && string.IsNullOrWhiteSpace(Path))
            throw new ArgumentException("CheckpointOptions.Path must name a file, or be null for no checkpoint.", nameof(Path));
        if (Settings is not null && Settings.Values.Any(v => v is null))
            throw new ArgumentException("CheckpointOptions.Settings must not hold null values.", nameof(Settings));
    }

    /// <summary>A copy (the settings copied too), so a trainer keeps the settings it was made with whatever the caller changes later.</summary>
    internal CheckpointOptions Clone()
    {
        var copy = (CheckpointOptions)MemberwiseClone();
        copy.Settings = Settings is null ? null : new Dictionary<string, string>(Settings, StringComparer.Ordinal);
        return copy;
    }
}
