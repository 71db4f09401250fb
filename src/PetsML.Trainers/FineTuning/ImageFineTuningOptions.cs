using Microsoft.ML;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Trainers.Tricks;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;

namespace PetsML;

/// <summary>
/// The knobs of the fastai lesson for <see cref="ImageFineTuningTrainer"/>:
/// <c>vision_learner(dls, arch, metrics=error_rate).fine_tune(Epochs, BaseLearningRate, FreezeEpochs)</c>.
/// Every default is fastai's unless said otherwise.
/// </summary>
public sealed class ImageFineTuningOptions
{
    /// <summary>The default values, written once (fastai's unless said otherwise; the plan's are in docs/training-plan.md).</summary>
    public static class Defaults
    {
        /// <summary>fastai's <c>RandomSplitter(valid_pct=0.2)</c>.</summary>
        public const double ValidPct = 0.2;
        /// <summary>fine_tune's <c>base_lr</c>: 2e-3, the training plan's at every data size.</summary>
        public const double BaseLearningRate = Trainers.FineTuning.TrainingPlan.DefaultBaseLearningRate;
        /// <summary>fine_tune's <c>lr_mult=100</c>.</summary>
        public const double LrMult = 100;
        /// <summary>Decoupled weight decay 0.01 (fastai Adam's).</summary>
        public const double WeightDecay = LearnerOptions.Defaults.WeightDecay;
        /// <summary>The ResNet-18 whose ImageNet weights ship with PetsML.</summary>
        public const ResNetArchitecture Architecture = ResNetArchitecture.ResNet18Packaged;
        /// <summary>ML.NET's score column name.</summary>
        public const string ScoreColumnName = "Score";
        /// <summary>ML.NET's predicted-label column name.</summary>
        public const string PredictedLabelColumnName = "PredictedLabel";
    }

    /// <summary>The label key column. Default "Label".</summary>
    public string LabelColumnName { get; set; } = PetsColumnNames.Label;

    /// <summary>
    /// The image column the trainer reads. Default "Features". It may hold:
    /// <list type="bullet">
    /// <item>encoded image bytes (<c>mlContext.Transforms.LoadRawImageBytes</c>), a path (text) or an <c>MLImage</c>
    /// (<c>mlContext.Transforms.LoadImages</c>): the trainer presizes and augments them with <see cref="Presize"/> and
    /// <see cref="Augment"/>, and the fitted model reads the same kind of column (ML.NET's ImageClassification style);</item>
    /// <item>the presized bytes of <c>mlContext.Transforms.Presize</c>: the trainer augments them with <see cref="Augment"/>;</item>
    /// <item>the normalised floats of <c>mlContext.Transforms.AugmentImages</c> (the fastai-style pipeline): the trainer
    /// uses the Presize and AugmentImages settings that column carries as annotations, so a cache checkpoint or an
    /// in-place Presize in between changes nothing.</item>
    /// </list>
    /// </summary>
    public string FeatureColumnName { get; set; } = PetsColumnNames.Features;

    /// <summary>The class-probability column the model writes. Default "Score".</summary>
    public string ScoreColumnName { get; set; } = Defaults.ScoreColumnName;

    /// <summary>The predicted-class key column the model writes. Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; set; } = Defaults.PredictedLabelColumnName;

    /// <summary>
    /// The split column (1 = validation, mlContext.Transforms.RandomSplit), used when <see cref="ValidationData"/> is null
    /// and the data has it. Default "IsValidation".
    /// </summary>
    public string ValidationColumnName { get; set; } = PetsColumnNames.IsValidation;

    /// <summary>
    /// Separate validation data, with the same columns as the training data (ML.NET's <c>validationSet</c>).
    /// Default null: the rows of the training data whose <see cref="ValidationColumnName"/> is 1, or, when the data has
    /// no such column, a seeded <see cref="ValidPct"/> of the training rows.
    /// </summary>
    public IDataView? ValidationData { get; set; }

    /// <summary>
    /// fastai's <c>RandomSplitter(valid_pct)</c>: the fraction of the rows held out for validation when there is neither
    /// <see cref="ValidationData"/> nor a <see cref="ValidationColumnName"/> column; drawn with <see cref="Seed"/>.
    /// 0 trains without validation (the epoch table then has no valid_loss or error_rate, and the log says so). Default 0.2.
    /// </summary>
    public double ValidPct { get; set; } = Defaults.ValidPct;

    /// <summary>
    /// fastai's item transform <c>Resize(460)</c>, used when <see cref="FeatureColumnName"/> holds images the trainer
    /// presizes itself (bytes, paths, MLImages). Default 460 pixels, crop.
    /// </summary>
    public PresizeOptions Presize { get; set; } = new();

    /// <summary>How those images are decoded (pixel limit, EXIF orientation). Default <see cref="ImageDecodeOptions"/>'s defaults.</summary>
    public ImageDecodeOptions DecodeOptions { get; set; } = new();

    /// <summary>
    /// fastai's <c>aug_transforms(size=224, min_scale=0.75)</c> + <c>Normalize</c>, used unless
    /// <see cref="FeatureColumnName"/> is AugmentImages' output (which carries its own). Default fastai's.
    /// </summary>
    public AugmentOptions Augment { get; set; } = new();

    /// <summary>The network body. Default <see cref="ResNetArchitecture.ResNet18Packaged"/>, whose ImageNet weights ship with PetsML.</summary>
    public ResNetArchitecture Architecture { get; set; } = Defaults.Architecture;

    /// <summary>Start from trained body weights (the packaged ones, or <see cref="WeightsFile"/>). Default true.</summary>
    public bool Pretrained { get; set; } = true;

    /// <summary>A weight file for the body (.dat, .pth/.pt, .safetensors). Default null.</summary>
    public string? WeightsFile { get; set; }

    /// <summary>
    /// Epochs with the whole network unfrozen (fine_tune's <c>epochs</c>). Default null: the training plan's, 2 (the lesson's)
    /// from about 450 training photos up, more on smaller sets, at most 8 (docs/training-plan.md); the log says which.
    /// </summary>
    public int? Epochs { get; set; }

    /// <summary>Epochs with only the head (and BatchNorm) training first. Default null: the training plan's, 1.</summary>
    public int? FreezeEpochs { get; set; }

    /// <summary>
    /// fine_tune's <c>base_lr</c>. Default 2e-3, the training plan's at every data size. Null means "find": run the
    /// learning-rate finder and use its valley suggestion.
    /// </summary>
    public double? BaseLearningRate
    {
        get => _baseLearningRate;
        set { _baseLearningRate = value; BaseLearningRateSet = true; }
    }

    double? _baseLearningRate = Defaults.BaseLearningRate;

    /// <summary>True once <see cref="BaseLearningRate"/> was assigned (the plan then reports it as the user's).</summary>
    internal bool BaseLearningRateSet { get; private set; }

    /// <summary>
    /// A limit on the training time: the trainer times a probe of a few training steps, estimates an epoch and trains only
    /// the epochs that fit (fewer unfrozen epochs first, then no frozen one; at least one epoch), saying so on <see cref="Log"/>.
    /// It caps epochs the options set too. An estimate, not a hard stop. Default null: no limit.
    /// </summary>
    public TimeSpan? MaxTrainingTime { get; set; }

    /// <summary>fine_tune's <c>lr_mult</c>: the unfrozen phase spans slice(base/lr_mult, base). Default 100.</summary>
    public double LrMult { get; set; } = Defaults.LrMult;

    /// <summary>
    /// Images per batch, for training and validation. Default null: the training plan's, the largest of 64 (the lesson's),
    /// 32, 16, 8, 4 that gives at least 7 optimizer steps an epoch (docs/training-plan.md); the log says which.
    /// </summary>
    public int? BatchSize { get; set; }

    /// <summary>Decoupled weight decay, none on BatchNorm parameters. Default 0.01.</summary>
    public double WeightDecay { get; set; } = Defaults.WeightDecay;

    /// <summary>
    /// The share of in-distribution photos the unknown threshold accepts: after training, Fit sets the IsUnknown threshold
    /// to the OutlierScore that this share of the validation rows do not exceed (docs/calibration.md). In (0, 1]. Default 0.95.
    /// </summary>
    public double UnknownAcceptance { get; set; } = DefaultUnknownAcceptance;

    /// <summary>The default <see cref="UnknownAcceptance"/>: 95% of in-distribution photos accepted.</summary>
    public const double DefaultUnknownAcceptance = 0.95;

    /// <summary>
    /// Seed of the head's initialisation, the shuffle, the augmentation and the ValidPct split. Default null: the seed of
    /// <c>new MLContext(seed:)</c> when the trainer comes from a catalog and the context has one, else 42.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>The seed when neither the options nor the MLContext set one.</summary>
    public const int DefaultSeed = 42;

    /// <summary>
    /// A training recipe replacing fine_tune, e.g. the lesson's
    /// <c>learner => { learner.FitOneCycle(3, 3e-3); learner.Unfreeze(); learner.FitOneCycle(6, 1e-5); }</c>.
    /// The learner starts frozen, as fastai's vision_learner does. Default null: fine_tune.
    /// </summary>
    public Action<Learner>? Recipe { get; set; }

    /// <summary>Per-batch progress (phase, epoch, batch, images/s, loss). Default null.</summary>
    public IProgress<BatchProgress>? Progress { get; set; }

    /// <summary>
    /// Receives human-readable lines: the chosen device, skipped rows, each epoch's row of the table; a warning (a checkpoint
    /// that could not be written) starts with "warning: ". Default null.
    /// </summary>
    public Action<string>? Log { get; set; }

    /// <summary>Stops training cleanly between batches. Default none.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// fastai's <c>verify_images</c> + removal: before training, every training and validation image's first bytes are
    /// checked (missing, empty, not a JPEG/PNG/GIF/BMP/WebP). False (default): such files stop the run before the first
    /// batch, with an exception naming them. True: they are left out, and <see cref="Log"/> gets their count and names.
    /// </summary>
    public bool SkipBadImages { get; set; }

    /// <summary>
    /// Callbacks joining the learner of every <c>Fit</c>, <c>FindLearningRate</c> and <c>CreateSession</c> (fastai's <c>cbs</c>),
    /// beside those the options ask for (the tricks, the epoch log): for example a progress display that notices each fit.
    /// Default empty.
    /// </summary>
    public IList<ILearnerCallback> Callbacks { get; set; } = new List<ILearnerCallback>();

    /// <summary>
    /// Where and how fast training computes: device, libtorch threads, channels-last, precision, bf16 BatchNorm, decode
    /// threads, batch preparation, decoded-image cache. Default <see cref="ComputeOptions"/>' defaults.
    /// </summary>
    public ComputeOptions Compute { get; set; } = new();

    /// <summary>
    /// fastbook chapter 7's tricks: label smoothing, MixUp, CutMix, progressive resizing, keep-best, early stopping,
    /// gradient accumulation. Default <see cref="TrainingTricksOptions"/>' defaults: every trick off, the lesson's training.
    /// </summary>
    public TrainingTricksOptions Tricks { get; set; } = new();

    /// <summary>
    /// A checkpoint of the fine_tune after every epoch and resuming from one. Not with a <see cref="Recipe"/>. Default
    /// <see cref="CheckpointOptions"/>' defaults: no checkpoint.
    /// </summary>
    public CheckpointOptions Checkpointing { get; set; } = new();

    /// <summary>Checks every option up front and throws on the first bad one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Presize, nameof(Presize));
        ArgumentNullException.ThrowIfNull(DecodeOptions, nameof(DecodeOptions));
        ArgumentNullException.ThrowIfNull(Augment, nameof(Augment));
        ArgumentNullException.ThrowIfNull(Compute, nameof(Compute));
        ArgumentNullException.ThrowIfNull(Tricks, nameof(Tricks));
        ArgumentNullException.ThrowIfNull(Checkpointing, nameof(Checkpointing));
        Presize.Validate();
        DecodeOptions.Validate();
        Augment.Validate();
        Compute.Validate();
        Tricks.Validate();
        Checkpointing.Validate();
        foreach (var (name, value) in new[] { (nameof(LabelColumnName), LabelColumnName), (nameof(FeatureColumnName), FeatureColumnName),
                     (nameof(ScoreColumnName), ScoreColumnName), (nameof(PredictedLabelColumnName), PredictedLabelColumnName), (nameof(ValidationColumnName), ValidationColumnName) })
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"ImageFineTuningOptions.{name} must not be empty.", name);
        if (!(ValidPct >= 0 && ValidPct < 1)) throw new ArgumentOutOfRangeException(nameof(ValidPct), ValidPct, "ImageFineTuningOptions.ValidPct must be in [0, 1).");
        if (Recipe is null && Epochs is < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "ImageFineTuningOptions.Epochs must be at least 1 (fine_tune's unfrozen epochs).");
        if (Epochs is < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "ImageFineTuningOptions.Epochs must be ≥ 0.");
        if (FreezeEpochs is < 0) throw new ArgumentOutOfRangeException(nameof(FreezeEpochs), FreezeEpochs, "ImageFineTuningOptions.FreezeEpochs must be ≥ 0.");
        if (BaseLearningRate is { } lr && !(lr > 0 && double.IsFinite(lr))) throw new ArgumentOutOfRangeException(nameof(BaseLearningRate), lr, "ImageFineTuningOptions.BaseLearningRate must be a positive number, or null to find it.");
        if (!(LrMult > 0)) throw new ArgumentOutOfRangeException(nameof(LrMult), LrMult, "ImageFineTuningOptions.LrMult must be positive.");
        if (BatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "ImageFineTuningOptions.BatchSize must be at least 1.");
        if (MaxTrainingTime is { } budget && budget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MaxTrainingTime), budget, "ImageFineTuningOptions.MaxTrainingTime must be positive, or null for no limit.");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "ImageFineTuningOptions.WeightDecay must be ≥ 0.");
        if (!(UnknownAcceptance > 0 && UnknownAcceptance <= 1))
            throw new ArgumentOutOfRangeException(nameof(UnknownAcceptance), UnknownAcceptance, "ImageFineTuningOptions.UnknownAcceptance (the share of in-distribution photos accepted) must be in (0, 1], for example 0.95.");
        if (!Enum.IsDefined(Architecture)) throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, "ImageFineTuningOptions.Architecture is not a known ResNet.");
        if (WeightsFile is not null && !File.Exists(WeightsFile)) throw new FileNotFoundException($"ImageFineTuningOptions.WeightsFile '{WeightsFile}' does not exist.", WeightsFile);
        if (Callbacks is null || Callbacks.Any(c => c is null))
            throw new ArgumentNullException(nameof(Callbacks), "ImageFineTuningOptions.Callbacks must not be null or contain null.");
        if (Recipe is not null && (Checkpointing.Path is not null || Checkpointing.ResumeFrom is not null))
            throw new ArgumentException("ImageFineTuningOptions.Checkpointing (Path, ResumeFrom) checkpoints fine_tune; a Recipe trains its own way (attach a CheckpointCallback in it).", nameof(Recipe));
        TrainingTricks.ValidateProgressiveResizing(this);
    }

    /// <summary>A copy (the sub-options and the callback list copied too), so a trainer keeps the settings it was made
    /// with whatever the caller changes later.</summary>
    internal ImageFineTuningOptions Clone()
    {
        var copy = (ImageFineTuningOptions)MemberwiseClone();
        copy.Presize = Presize?.Clone()!;
        copy.DecodeOptions = DecodeOptions?.Clone()!;
        copy.Augment = Augment?.Clone()!;
        copy.Compute = Compute?.Clone()!;
        copy.Tricks = Tricks?.Clone()!;
        copy.Checkpointing = Checkpointing?.Clone()!;
        copy.Callbacks = Callbacks is null ? null! : new List<ILearnerCallback>(Callbacks);
        return copy;
    }
}
