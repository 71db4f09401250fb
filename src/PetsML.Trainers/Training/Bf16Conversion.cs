using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// Turns an fp32 model into a bf16 one whose BatchNorm layers stay fp32 — the working copy of
/// <see cref="TrainingPrecision.Bf16Mixed"/> and the bf16 inference model.
/// </summary>
/// <remarks>
/// TorchSharp's <c>Module.to(ScalarType)</c> converts everything, BatchNorm's running statistics included, and has no
/// per-module filter; so the whole model goes to bf16 and every BatchNorm is sent back to fp32 (in place). conv2d and
/// linear reject mixed dtypes, so the caller must feed a bf16 input. For <see cref="Bf16BatchNorm.Fp32Compute"/> each
/// BatchNorm gets a forward pre-hook (input → fp32) and a forward hook (output → bf16): hooks, not a wrapper module,
/// so the state-dict names stay the plain ones. Hooks run only when the parent calls the layer with <c>call</c>
/// (PetsML's modules and Sequential do); a layer invoked with <c>forward</c> directly gets the native mixed-dtype path.
/// </remarks>
internal static class Bf16Conversion
{
    /// <summary>Converts <paramref name="model"/> in place; the parameter and buffer objects are replaced, so collect them afterwards.</summary>
    public static void ToBf16(nn.Module model, Bf16BatchNorm batchNorm)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Enum.IsDefined(batchNorm))
            throw new ArgumentOutOfRangeException(nameof(batchNorm), batchNorm, "Not a known BatchNorm mode.");
        model.to(ScalarType.BFloat16);
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not BatchNorm norm) continue;
            norm.to(ScalarType.Float32);
            if (batchNorm == Bf16BatchNorm.Fp32Compute)
            {
                // Returning null keeps the tensor unchanged (TorchSharp's hook contract).
                norm.register_forward_pre_hook((_, input) => input.dtype == ScalarType.BFloat16 ? input.to(ScalarType.Float32) : null!);
                norm.register_forward_hook((_, _, output) => output.dtype == ScalarType.Float32 ? output.to(ScalarType.BFloat16) : null!);
            }
        }
    }
}
