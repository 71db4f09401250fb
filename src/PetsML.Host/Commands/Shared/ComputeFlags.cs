using PetsML.Trainers.Training;
using Spectre.Console;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// The compute flags every command that runs the network takes: --precision and --channels-last.
/// Parsing and checking live here once; the settings classes only declare the options.
/// </summary>
public static class ComputeFlags
{
    public const string PrecisionHelp = "Compute precision: auto (bf16-mixed where the CPU has avx512_bf16/amx_bf16 or the GPU supports bf16, else fp32), fp32, bf16-mixed.";
    public const string ChannelsLastHelp = "Feed convolutions channels_last (NHWC) batches: true or false.";

    public static ValidationResult Validate(string precision, string channelsLast)
    {
        try { _ = PrecisionResolver.Parse(precision); }
        catch (ArgumentException) { return ValidationResult.Error($"--precision must be auto, fp32 or bf16-mixed; got '{precision}'."); }
        if (!bool.TryParse(channelsLast, out _))
            return ValidationResult.Error($"--channels-last must be true or false; got '{channelsLast}'.");
        return ValidationResult.Success();
    }

    public static TrainingPrecision Precision(string value) => PrecisionResolver.Parse(value);

    public static bool ChannelsLast(string value) => bool.Parse(value);
}
