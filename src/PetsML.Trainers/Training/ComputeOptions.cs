using PetsML.Trainers.Devices;
using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;

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
/// Where and how fast training computes: the device, libtorch's threads, the tensor layout and precision, and how the
/// batches are prepared. None of them changes the recipe (what fastai would train), only its speed, its memory and, for
/// <see cref="Precision"/>, the rounding. The group of <see cref="ImageFineTuningOptions.Compute"/> and
/// <see cref="LearnerOptions.Compute"/>, as LightGbm groups its booster's knobs in <c>Options.Booster</c>.
/// </summary>
public sealed class ComputeOptions
{
    /// <summary>The default values, written once.</summary>
    public static class Defaults
    {
        /// <summary>Device: "auto" (cuda when a CUDA runtime and a GPU are available, else cpu).</summary>
        public const string Device = "auto";
        /// <summary>
        /// Channels-last input layout: true. PetsML's choice (fastai leaves it off): faster convolutions on CPU, the
        /// layout of the speed figures in bench/README.md.
        /// </summary>
        public const bool ChannelsLast = true;
        /// <summary>
        /// Precision: auto, i.e. bf16-mixed where the hardware computes bf16 natively, else fp32: as accurate as fp32 and
        /// much faster there (bench/README.md, "Precision").
        /// </summary>
        public const TrainingPrecision Precision = TrainingPrecision.Auto;
        /// <summary>
        /// BatchNorm in a bf16 working copy: bf16 activations into fp32 BatchNorm, as autocast does: as accurate as fp32 on
        /// real photos and faster than computing BatchNorm in fp32 (bench/README.md, "Precision").
        /// </summary>
        public const Bf16BatchNorm Bf16BatchNorm = PetsML.Bf16BatchNorm.Native;
        /// <summary>Threads that decode and presize images: the number of processors.</summary>
        public static readonly int DecodeThreads = Environment.ProcessorCount;
        /// <summary>Batch preparation alternates with training: measured fastest on 2 cores.</summary>
        public const BatchPreparation BatchPreparation = PetsML.BatchPreparation.Alternate;
        /// <summary>No decoded-image cache: decode every epoch, as fastai does.</summary>
        public const long DecodedCacheBytes = BatchSourceOptions.DefaultDecodedCacheBytes;
    }

    /// <summary>"auto" (cuda when available, else cpu), "cpu", "cuda" or "cuda:N". Default "auto".</summary>
    public string Device { get; set; } = Defaults.Device;

    /// <summary>
    /// libtorch's intra-op threads, set when the trainer prepares its learner; null leaves libtorch's default (the number
    /// of cores). Default null.
    /// </summary>
    public int? Threads { get; set; }

    /// <summary>Feed convolutions NHWC-contiguous batches (channels_last; faster on CPU). Default true (PetsML's choice).</summary>
    public bool ChannelsLast { get; set; } = Defaults.ChannelsLast;

    /// <summary>
    /// Compute precision of the training step: <see cref="TrainingPrecision.Fp32"/>, <see cref="TrainingPrecision.Bf16Mixed"/>
    /// (fp32 master weights, bf16 working copy; the trained model and the .zip are fp32 either way), or
    /// <see cref="TrainingPrecision.Auto"/> (bf16-mixed where the CPU has avx512_bf16/amx_bf16 or the CUDA device bf16).
    /// The trainer writes the choice made to <see cref="ImageFineTuningOptions.Log"/>. Default auto: bf16-mixed trains as
    /// accurately as fp32 and much faster on CPUs with bf16 (bench/README.md, "Precision"). Prediction precision is
    /// separate: <see cref="ImageClassifierTransformer.InferencePrecision"/>.
    /// </summary>
    public TrainingPrecision Precision { get; set; } = Defaults.Precision;

    /// <summary>How BatchNorm runs in the bf16 working copy (bf16-mixed only). Default <see cref="Bf16BatchNorm.Native"/>.</summary>
    public Bf16BatchNorm Bf16BatchNorm { get; set; } = Defaults.Bf16BatchNorm;

    /// <summary>Threads that decode and presize images for the trainer's batches. Default: the number of processors.</summary>
    public int DecodeThreads { get; set; } = Defaults.DecodeThreads;

    /// <summary>Whether the trainer's batch preparation alternates with training (default, measured fastest on 2 cores) or overlaps it.</summary>
    public BatchPreparation BatchPreparation { get; set; } = Defaults.BatchPreparation;

    /// <summary>
    /// Bytes of decoded images the trainer keeps in memory between epochs. Default 0: decode every epoch, as fastai does
    /// (cheap beside a CPU training step: bench/README.md, "Peak memory"); 512 MiB holds about 950 photos of 500×375,
    /// worth it when decoding is the bottleneck (a GPU).
    /// </summary>
    public long DecodedCacheBytes { get; set; } = Defaults.DecodedCacheBytes;

    /// <summary>Checks every option and throws on the first bad one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "ComputeOptions.Threads must be at least 1, or null for libtorch's default.");
        if (!Enum.IsDefined(Precision)) throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "ComputeOptions.Precision is not a known precision (Fp32, Bf16Mixed, Auto).");
        if (!Enum.IsDefined(Bf16BatchNorm)) throw new ArgumentOutOfRangeException(nameof(Bf16BatchNorm), Bf16BatchNorm, "ComputeOptions.Bf16BatchNorm is not a known BatchNorm mode (Fp32Compute, Native).");
        if (DecodeThreads < 1) throw new ArgumentOutOfRangeException(nameof(DecodeThreads), DecodeThreads, "ComputeOptions.DecodeThreads must be at least 1.");
        if (!Enum.IsDefined(BatchPreparation)) throw new ArgumentOutOfRangeException(nameof(BatchPreparation), BatchPreparation, "ComputeOptions.BatchPreparation is not a known mode (Alternate, Overlap).");
        if (DecodedCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(DecodedCacheBytes), DecodedCacheBytes, "ComputeOptions.DecodedCacheBytes must be ≥ 0 (0 turns the cache off).");
        TorchDevice.Resolve(Device);
    }

    /// <summary>A copy, so a component keeps the settings it was made with whatever the caller changes later.</summary>
    internal ComputeOptions Clone() => (ComputeOptions)MemberwiseClone();
}
