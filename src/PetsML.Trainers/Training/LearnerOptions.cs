using PetsML.Trainers.Losses;
using PetsML.Trainers.Optimization;
using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// How a <see cref="Learner"/> trains. Defaults are fastai's <c>vision_learner</c> ones and are written once, in
/// <see cref="Defaults"/>, which <see cref="ImageFineTuningOptions"/> reads too, so the trainer and a learner built
/// directly default alike.
/// </summary>
public sealed class LearnerOptions
{
    /// <summary>The default values, in one place.</summary>
    public static class Defaults
    {
        /// <summary>fastai's <c>defaults.lr</c>, used by Fit/FitOneCycle when no learning rate is given: 1e-3.</summary>
        public const double LearningRate = 1e-3;
        /// <summary>Decoupled weight decay: 0.01 (fastai Adam's own default, since <c>Learner.wd</c> is None).</summary>
        public const double WeightDecay = FastaiAdam.Defaults.WeightDecay;
        /// <summary>One-cycle momentum (Adam β1) cycle: 0.95 → 0.85 → 0.95.</summary>
        public static readonly (double Start, double Middle, double End) Moms = (0.95, 0.85, 0.95);
        /// <summary>BatchNorm parameters keep training in frozen groups: true.</summary>
        public const bool TrainBn = true;
    }

    /// <summary>The loss on logits. Default <see cref="ClassificationLoss.CrossEntropy"/>.</summary>
    internal ClassificationLoss Loss { get; set; } = ClassificationLoss.CrossEntropy;

    /// <summary>Learning rate when a fit is given none. Default 1e-3.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;

    /// <summary>Decoupled weight decay, applied to every non-norm parameter at every fit. Default 0.01.</summary>
    public double WeightDecay { get; set; } = Defaults.WeightDecay;

    /// <summary>Momentum cycle for one-cycle schedules. Default (0.95, 0.85, 0.95).</summary>
    public (double Start, double Middle, double End) Moms { get; set; } = Defaults.Moms;

    /// <summary>Keep normalisation parameters trainable inside frozen groups (fastai's <c>train_bn</c>). Default true.</summary>
    public bool TrainBn { get; set; } = Defaults.TrainBn;


    /// <summary>
    /// Where and how the learner computes: it reads <see cref="ComputeOptions.Device"/>, <see cref="ComputeOptions.ChannelsLast"/>,
    /// <see cref="ComputeOptions.Precision"/> and <see cref="ComputeOptions.Bf16BatchNorm"/>. The rest (libtorch's threads,
    /// batch preparation) is applied by whoever makes the learner and its batches (the trainer passes its own
    /// <see cref="ImageFineTuningOptions.Compute"/>, so a recipe sees the run's settings). Default <see cref="ComputeOptions"/>' defaults.
    /// </summary>
    public ComputeOptions Compute { get; set; } = new();

    /// <summary>
    /// Decides whether the hardware computes bf16 natively, for <see cref="TrainingPrecision.Auto"/>. Default null:
    /// <see cref="HardwareBf16Support.Instance"/> (the CPU flags in /proc/cpuinfo, or a bf16 probe on CUDA).
    /// </summary>
    internal IBf16Support? Bf16Support { get; set; }

    /// <summary>Receives a report after every batch (training and validation). Default none.</summary>
    public IProgress<BatchProgress>? Progress { get; set; }

    /// <summary>Extra callbacks present in every fit. Default none.</summary>
    public IReadOnlyList<ILearnerCallback> Callbacks { get; set; } = [];

    /// <summary>
    /// Checks every option up front and throws on the first bad one, naming it (the exception's ParamName and message), in
    /// the style of <see cref="ImageFineTuningOptions"/>.
    /// </summary>
    internal void Validate()
    {
        if (Loss is null) throw new ArgumentNullException(nameof(Loss), "LearnerOptions.Loss must be set.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearnerOptions.LearningRate must be a positive, finite number.");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "LearnerOptions.WeightDecay must be ≥ 0 and finite.");
        foreach (var m in new[] { Moms.Start, Moms.Middle, Moms.End })
            if (!(m >= 0 && m < 1))
                throw new ArgumentOutOfRangeException(nameof(Moms), Moms, "LearnerOptions.Moms values are Adam β1 values and must lie in [0, 1).");
        ArgumentNullException.ThrowIfNull(Compute, nameof(Compute));
        Compute.Validate();
        if (Callbacks is null || Callbacks.Any(c => c is null))
            throw new ArgumentNullException(nameof(Callbacks), "LearnerOptions.Callbacks must not be null or contain null.");
    }

    /// <summary>A copy (the compute options and the callback list copied too), so a learner keeps the settings it was made with.</summary>
    internal LearnerOptions Clone()
    {
        var copy = (LearnerOptions)MemberwiseClone();
        copy.Compute = Compute?.Clone()!;
        copy.Callbacks = Callbacks is null ? null! : [.. Callbacks];
        return copy;
    }
}
