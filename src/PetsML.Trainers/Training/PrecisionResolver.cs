using TorchSharp;

namespace PetsML.Trainers.Training;

/// <summary>Turns a requested <see cref="TrainingPrecision"/> into the one that runs.</summary>
internal static class PrecisionResolver
{
    /// <summary>
    /// <see cref="TrainingPrecision.Auto"/> becomes <see cref="TrainingPrecision.Bf16Mixed"/> when
    /// <paramref name="support"/> (default <see cref="HardwareBf16Support.Instance"/>) says <paramref name="device"/>
    /// computes bf16 natively, else <see cref="TrainingPrecision.Fp32"/>; an explicit precision is returned unchanged.
    /// </summary>
    public static TrainingPrecision Resolve(TrainingPrecision requested, torch.Device device, IBf16Support? support = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!Enum.IsDefined(requested))
            throw new ArgumentOutOfRangeException(nameof(requested), requested, "Not a known training precision.");
        if (requested != TrainingPrecision.Auto) return requested;
        return (support ?? HardwareBf16Support.Instance).Supports(device) ? TrainingPrecision.Bf16Mixed : TrainingPrecision.Fp32;
    }

    /// <summary>The command-line spelling: "fp32", "bf16-mixed", "auto".</summary>
    public static string ToDisplayName(TrainingPrecision precision) => precision switch
    {
        TrainingPrecision.Fp32 => "fp32",
        TrainingPrecision.Bf16Mixed => "bf16-mixed",
        TrainingPrecision.Auto => "auto",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Not a known training precision."),
    };

    /// <summary>Parses "fp32", "bf16-mixed" (or "bf16mixed", "bf16") and "auto", ignoring case.</summary>
    /// <exception cref="ArgumentException">Any other text; the message lists the accepted ones.</exception>
    public static TrainingPrecision Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "fp32" or "float32" => TrainingPrecision.Fp32,
            "bf16-mixed" or "bf16mixed" or "bf16_mixed" or "bf16" => TrainingPrecision.Bf16Mixed,
            "auto" => TrainingPrecision.Auto,
            _ => throw new ArgumentException($"Precision '{text}' is not one of auto, fp32, bf16-mixed.", "Precision"),
        };
    }
}
