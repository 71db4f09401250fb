namespace PetsML;

/// <summary>
/// The tricks of fastbook chapter 7 beyond the lesson's fine_tune, for <see cref="ImageFineTuningOptions.Tricks"/>: label
/// smoothing, MixUp or CutMix, progressive resizing, keeping the best epoch, early stopping and gradient accumulation.
/// Each is off by default, so the defaults train the lesson exactly. A checkpoint stores the values of all but the
/// progressive resizing ones (under petsml train's flag names), and resuming requires the same.
/// </summary>
public sealed class TrainingTricksOptions
{
    /// <summary>The default values, written once: every trick off.</summary>
    public static class Defaults
    {
        /// <summary>0: plain cross-entropy.</summary>
        public const double LabelSmoothing = 0;
        /// <summary>0: no MixUp.</summary>
        public const double MixUp = 0;
        /// <summary>0: no CutMix.</summary>
        public const double CutMix = 0;
        /// <summary>0: every epoch at the final size.</summary>
        public const int ProgressiveResizing = 0;
        /// <summary>False: a fit ends on its last epoch.</summary>
        public const bool KeepBestEpoch = false;
        /// <summary>0: never stop early.</summary>
        public const int EarlyStoppingPatience = 0;
        /// <summary>0: an optimizer step every batch.</summary>
        public const int GradientAccumulationItems = 0;
    }

    /// <summary>Label smoothing ε (fastai's LabelSmoothingCrossEntropy uses 0.1), in [0, 1). Default 0: plain cross-entropy.</summary>
    public double LabelSmoothing { get; set; } = Defaults.LabelSmoothing;

    /// <summary>MixUp's α (fastai's <c>MixUp(alpha=0.4)</c>); 0 (the default) trains without MixUp. Not with <see cref="CutMix"/>.</summary>
    public double MixUp { get; set; } = Defaults.MixUp;

    /// <summary>CutMix's α (fastai's <c>CutMix(alpha=1.0)</c>); 0 (the default) trains without CutMix. Not with <see cref="MixUp"/>.</summary>
    public double CutMix { get; set; } = Defaults.CutMix;

    /// <summary>
    /// Progressive resizing (fastbook chapter 7, which trains at 128 and then switches the data to 224): the side, in
    /// pixels, of the images of fine_tune's first <see cref="ProgressiveEpochs"/> epochs, training and validation alike;
    /// the later epochs use <see cref="ImageFineTuningOptions.Augment"/>'s Size. It must be smaller than that size. The
    /// presize (460) does not change and no image is decoded or cached twice; lr_find before fine_tune runs at this size.
    /// The saved model predicts at the final size. Only with fine_tune (not with a <see cref="ImageFineTuningOptions.Recipe"/>).
    /// Default 0: off.
    /// </summary>
    public int ProgressiveResizing { get; set; } = Defaults.ProgressiveResizing;

    /// <summary>
    /// With <see cref="ProgressiveResizing"/>: how many of fine_tune's epochs, counting the frozen ones first, train at the
    /// small size; at least one epoch must remain at the final size. Default null: the frozen epochs
    /// (<see cref="ImageFineTuningOptions.FreezeEpochs"/>), so the head trains on small images and the unfrozen network on
    /// full-size ones.
    /// </summary>
    public int? ProgressiveEpochs { get; set; }

    /// <summary>End every fit on its epoch of lowest validation loss (fastai's <c>SaveModelCallback</c>). Default false.</summary>
    public bool KeepBestEpoch { get; set; } = Defaults.KeepBestEpoch;

    /// <summary>End a fit after this many epochs without a lower validation loss (fastai's <c>EarlyStoppingCallback</c>); 0 (the default) never.</summary>
    public int EarlyStoppingPatience { get; set; } = Defaults.EarlyStoppingPatience;

    /// <summary>Training items per optimizer step (fastai's <c>GradientAccumulation(n_acc)</c>); 0 (the default) steps every batch.</summary>
    public int GradientAccumulationItems { get; set; } = Defaults.GradientAccumulationItems;

    /// <summary>
    /// Checks every option and throws on the first bad one, naming it (ParamName and message). The checks that need the
    /// rest of the trainer's options (progressive resizing against the epochs and the recipe) are the trainer options'.
    /// </summary>
    internal void Validate()
    {
        if (LabelSmoothing is < 0 or >= 1 || double.IsNaN(LabelSmoothing))
            throw new ArgumentOutOfRangeException(nameof(LabelSmoothing), LabelSmoothing, "TrainingTricksOptions.LabelSmoothing must be in [0, 1).");
        if (!(MixUp >= 0) || !double.IsFinite(MixUp))
            throw new ArgumentOutOfRangeException(nameof(MixUp), MixUp, "TrainingTricksOptions.MixUp (α) must be ≥ 0 and finite; 0 is off.");
        if (!(CutMix >= 0) || !double.IsFinite(CutMix))
            throw new ArgumentOutOfRangeException(nameof(CutMix), CutMix, "TrainingTricksOptions.CutMix (α) must be ≥ 0 and finite; 0 is off.");
        if (MixUp > 0 && CutMix > 0)
            throw new ArgumentException("TrainingTricksOptions: choose MixUp or CutMix, not both: each replaces the batch and the loss.", nameof(CutMix));
        if (ProgressiveResizing < 0)
            throw new ArgumentOutOfRangeException(nameof(ProgressiveResizing), ProgressiveResizing, "TrainingTricksOptions.ProgressiveResizing (the first epochs' image size) must be ≥ 0; 0 is off.");
        if (EarlyStoppingPatience < 0)
            throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "TrainingTricksOptions.EarlyStoppingPatience must be ≥ 0; 0 is off.");
        if (GradientAccumulationItems < 0)
            throw new ArgumentOutOfRangeException(nameof(GradientAccumulationItems), GradientAccumulationItems, "TrainingTricksOptions.GradientAccumulationItems must be ≥ 0; 0 is off.");
    }

    /// <summary>A copy, so a trainer keeps the settings it was made with whatever the caller changes later.</summary>
    internal TrainingTricksOptions Clone() => (TrainingTricksOptions)MemberwiseClone();
}
