namespace PetsML;

/// <summary>
/// How BatchNorm runs inside a bf16 model (the <see cref="TrainingPrecision.Bf16Mixed"/> working copy, bf16
/// inference). Either way its weights, biases and running statistics stay fp32.
/// </summary>
public enum Bf16BatchNorm
{
    /// <summary>
    /// The bf16 activation is cast to fp32, normalised in fp32 and cast back (forward hooks on each BatchNorm, so the
    /// state-dict names do not change). Slower than <see cref="Native"/> (two casts a layer), the conservative choice
    /// (docs/bf16-mixed-precision.md, "BatchNorm in the working copy"; figures in bench/README.md, "Precision").
    /// </summary>
    Fp32Compute,

    /// <summary>
    /// The bf16 activation goes straight into BatchNorm with fp32 parameters (libtorch's mixed-dtype kernel), which is
    /// exactly what PyTorch's autocast does. Faster, and as accurate as fp32 on real photos, so it is the default
    /// (docs/bf16-mixed-precision.md, "BatchNorm in the working copy").
    /// </summary>
    Native,
}
