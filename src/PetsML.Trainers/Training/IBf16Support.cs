using TorchSharp;

namespace PetsML.Trainers.Training;

/// <summary>
/// Whether a device computes bfloat16 natively (fast) rather than by emulation. <see cref="PrecisionResolver"/>
/// asks it to resolve <see cref="TrainingPrecision.Auto"/>; pass your own to force an answer (tests, benchmarks).
/// </summary>
internal interface IBf16Support
{
    /// <summary>True when <paramref name="device"/> runs bf16 arithmetic natively.</summary>
    bool Supports(torch.Device device);
}
