namespace PetsML;

/// <summary>
/// How BatchNorm runs inside a bf16 model (the <see cref="TrainingPrecision.Bf16Mixed"/> working copy, bf16
/// inference). Either way its weights, biases and running statistics stay fp32.
/// </summary>
public enum Bf16BatchNorm
{
    /// <summary>
    /// The bf16 activation is cast to fp32, normalised in fp32 and cast back (forward hooks on each BatchNorm, so the
    /// state-dict names do not change). About 12–15 % slower than <see cref="Native"/>; it matched fp32's accuracy in
    /// every seed measured (docs/bf16-mixed-precision.md, "BatchNorm in the working copy") and was the default until Native was checked on real data.
    /// </summary>
    Fp32Compute,

    /// <summary>
    /// The bf16 activation goes straight into BatchNorm with fp32 parameters (libtorch's mixed-dtype kernel), which is
    /// exactly what PyTorch's autocast does. Faster. Its eval-mode accuracy fell behind fp32 in small synthetic runs
    /// (docs/bf16-mixed-precision.md, "BatchNorm in the working copy"), but on pets-sample it matched fp32 seed by seed, so it is the default.
    /// </summary>
    Native,
}
