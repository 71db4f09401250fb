using System.Globalization;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;

namespace PetsML.Trainers.Tricks;

/// <summary>
/// The callbacks <see cref="TrainingTricksOptions"/> ask for (seeded with the trainer's resolved seed), their values as
/// checkpoint settings, and the checks of progressive resizing against the rest of <see cref="ImageFineTuningOptions"/>.
/// </summary>
internal static class TrainingTricks
{
    public static IEnumerable<ILearnerCallback> Callbacks(TrainingTricksOptions options, int seed)
    {
        if (options.MixUp > 0) yield return new MixUp(options.MixUp, seed);
        if (options.CutMix > 0) yield return new CutMix(options.CutMix, seed);
        if (options.GradientAccumulationItems > 0) yield return new GradientAccumulation(options.GradientAccumulationItems);
        if (options.KeepBestEpoch) yield return new KeepBestEpoch();
        if (options.EarlyStoppingPatience > 0) yield return new EarlyStopping(options.EarlyStoppingPatience);
    }

    /// <summary>The trick options as checkpoint settings (keys named after petsml train's flags, invariant culture).</summary>
    public static IReadOnlyDictionary<string, string> Settings(TrainingTricksOptions options)
    {
        static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [LabelSmoothingKey] = D(options.LabelSmoothing), [MixUpKey] = D(options.MixUp), [CutMixKey] = D(options.CutMix),
            [KeepBestKey] = options.KeepBestEpoch ? "true" : "false",
            [EarlyStoppingKey] = I(options.EarlyStoppingPatience), [GradAccumKey] = I(options.GradientAccumulationItems),
        };
    }

    public const string LabelSmoothingKey = "label-smoothing", MixUpKey = "mixup", CutMixKey = "cutmix", KeepBestKey = "keep-best",
        EarlyStoppingKey = "early-stopping", GradAccumKey = "grad-accum";

    /// <summary>Throws when <paramref name="checkpointSettings"/> holds trick values other than the options' (a checkpoint without them passes).</summary>
    /// <exception cref="ArgumentException">Names every trick that differs.</exception>
    public static void EnsureSameAs(TrainingTricksOptions options, IReadOnlyDictionary<string, string> checkpointSettings)
    {
        var diffs = Settings(options)
            .Where(kv => checkpointSettings.TryGetValue(kv.Key, out var saved) && saved != kv.Value)
            .Select(kv => $"{kv.Key} {kv.Value} vs {checkpointSettings[kv.Key]}")
            .ToList();
        if (diffs.Count > 0)
            throw new ArgumentException($"CheckpointOptions.ResumeFrom: the checkpoint was trained with other tricks ({string.Join(", ", diffs)}: these options vs the checkpoint's); resume with the checkpoint's.",
                nameof(CheckpointOptions.ResumeFrom));
    }

    /// <summary>Progressive resizing against the trainer's epochs and recipe (its own range is <see cref="TrainingTricksOptions.Validate"/>'s).</summary>
    public static void ValidateProgressiveResizing(ImageFineTuningOptions options)
    {
        var tricks = options.Tricks;
        if (tricks.ProgressiveResizing == 0) return;
        if (options.Recipe is not null)
            throw new ArgumentException("TrainingTricksOptions.ProgressiveResizing works with fine_tune, not with a Recipe.", nameof(tricks.ProgressiveResizing));
        // The plan's epochs when unset: at least its minimum unfrozen epochs and its one frozen epoch.
        int freeze = options.FreezeEpochs ?? FineTuning.TrainingPlan.DefaultFreezeEpochs;
        int total = freeze + (options.Epochs ?? FineTuning.TrainingPlan.MinEpochs);
        int small = tricks.ProgressiveEpochs ?? freeze;
        if (small < 1)
            throw new ArgumentOutOfRangeException(nameof(tricks.ProgressiveEpochs), tricks.ProgressiveEpochs,
                "TrainingTricksOptions.ProgressiveEpochs must be at least 1 (with no frozen epochs, set it: its default is ImageFineTuningOptions.FreezeEpochs).");
        if (small >= total)
            throw new ArgumentOutOfRangeException(nameof(tricks.ProgressiveEpochs), small,
                $"TrainingTricksOptions.ProgressiveEpochs must leave at least one of fine_tune's {total} epochs at the final size.");
    }
}
