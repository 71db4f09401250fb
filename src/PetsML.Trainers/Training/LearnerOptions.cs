using PetsML.Trainers.Losses;
using PetsML.Trainers.Optimization;
using PetsML.Trainers.Devices;
using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>Numeric precision of the training step.</summary>
public enum TrainingPrecision
{
    /// <summary>Everything in float32 (fastai's default without <c>to_fp16()</c>).</summary>
    Fp32,

    /// <summary>
    /// bfloat16 mixed precision (fastai's <c>to_fp16()</c>, PyTorch's <c>autocast(bfloat16)</c>): forward and backward
    /// run on a bf16 working copy of the model with BatchNorm in fp32 and the loss in fp32; the optimizer updates the
    /// model's own fp32 weights (the master weights), which are copied back into the working copy after each step.
    /// Much faster than fp32 on CPUs with native bf16 (avx512_bf16, amx_bf16; bench/README.md, "Precision"); emulated
    /// and slow elsewhere.
    /// </summary>
    Bf16Mixed,

    /// <summary>
    /// <see cref="Bf16Mixed"/> where the hardware computes bf16 natively (a CPU with avx512_bf16 or amx_bf16, a CUDA
    /// device with bf16), else <see cref="Fp32"/>. <see cref="PrecisionResolver"/> makes the choice.
    /// </summary>
    Auto,
}

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
        /// <summary>
        /// Channels-last input layout: true. PetsML's choice (fastai leaves it off): faster convolutions on CPU, the layout
        /// the layout of the speed figures in bench/README.md.
        /// </summary>
        public const bool ChannelsLast = true;
        /// <summary>
        /// Precision: auto, i.e. bf16-mixed where the hardware computes bf16 natively, else fp32: as accurate as fp32 and
        /// much faster there (bench/README.md, "Precision").
        /// </summary>
        public const TrainingPrecision Precision = TrainingPrecision.Auto;
        /// <summary>Device: "auto" (cuda when a CUDA runtime and a GPU are available, else cpu).</summary>
        public const string Device = "auto";
        /// <summary>
        /// BatchNorm in a bf16 working copy: bf16 activations into fp32 BatchNorm, as autocast does: as accurate as fp32 on
        /// real photos and faster than computing BatchNorm in fp32 (bench/README.md, "Precision").
        /// </summary>
        public const Bf16BatchNorm BatchNorm = Bf16BatchNorm.Native;
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

    /// <summary>Device to train on: "auto" (cuda when available, else cpu), "cpu", "cuda" or "cuda:N". Default "auto".</summary>
    public string Device { get; set; } = Defaults.Device;

    /// <summary>Feed inputs in channels-last memory layout (NHWC-contiguous, still indexed N×C×H×W). Default true.</summary>
    public bool ChannelsLast { get; set; } = Defaults.ChannelsLast;

    /// <summary>Precision of the training step. Default <see cref="TrainingPrecision.Auto"/>.</summary>
    public TrainingPrecision Precision { get; set; } = Defaults.Precision;

    /// <summary>
    /// How BatchNorm layers run in a <see cref="TrainingPrecision.Bf16Mixed"/> working copy. Default
    /// <see cref="Bf16BatchNorm.Native"/>. Ignored in fp32.
    /// </summary>
    public Bf16BatchNorm Bf16BatchNorm { get; set; } = Defaults.BatchNorm;

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
        if (!Enum.IsDefined(Precision))
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "LearnerOptions.Precision is not a known precision (Fp32, Bf16Mixed, Auto).");
        if (!Enum.IsDefined(Bf16BatchNorm))
            throw new ArgumentOutOfRangeException(nameof(Bf16BatchNorm), Bf16BatchNorm, "LearnerOptions.Bf16BatchNorm is not a known BatchNorm mode.");
        TorchDevice.Resolve(Device);
        if (Callbacks is null || Callbacks.Any(c => c is null))
            throw new ArgumentNullException(nameof(Callbacks), "LearnerOptions.Callbacks must not be null or contain null.");
    }

    /// <summary>A copy (the callback list copied too), so a learner keeps the settings it was made with.</summary>
    internal LearnerOptions Clone()
    {
        var copy = (LearnerOptions)MemberwiseClone();
        copy.Callbacks = Callbacks is null ? null! : [.. Callbacks];
        return copy;
    }
}
