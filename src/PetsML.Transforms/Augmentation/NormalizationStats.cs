namespace PetsML;

/// <summary>
/// Per-channel (R, G, B) statistics for <c>(x − mean) / std</c> on images scaled to [0, 1]
/// (fastai's <c>Normalize</c>, order 99, applied on both splits).
/// </summary>
/// <remarks>
/// The arrays are copied on construction, and the well-known statistics are returned as fresh
/// instances, so no caller can change the values another caller sees.
/// </remarks>
public sealed class NormalizationStats
{
    /// <summary>Creates statistics from three means and three standard deviations (R, G, B order).</summary>
    /// <exception cref="ArgumentException">When either array does not hold 3 finite values or a std is not positive.</exception>
    public NormalizationStats(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != 3 || mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException($"Mean must hold 3 finite values (R, G, B); got {mean.Length} values.", nameof(mean));
        if (std.Length != 3 || std.Any(s => !float.IsFinite(s) || s <= 0f))
            throw new ArgumentException("Std must hold 3 finite positive values (R, G, B).", nameof(std));
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>Per-channel means, R, G, B, for pixel values in [0, 1].</summary>
    public float[] Mean { get; }

    /// <summary>Per-channel standard deviations, R, G, B, for pixel values in [0, 1].</summary>
    public float[] Std { get; }

    /// <summary>
    /// fastai's <c>imagenet_stats</c> (torchvision's ImageNet models): mean [0.485, 0.456, 0.406],
    /// std [0.229, 0.224, 0.225].
    /// </summary>
    public static NormalizationStats ImageNet => new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>
    /// The ResNet-18 packaged in Microsoft.ML.DnnImageFeaturizer.ResNet18 (after flipping conv1 from BGR to
    /// RGB): per-channel mean [0.482948, 0.454521, 0.404167] and std 1/255, i.e. the network expects
    /// mean-subtracted 0..255 values. See docs/pretrained-resnet18.md, "Preprocessing".
    /// </summary>
    public static NormalizationStats PackagedResNet18 =>
        new([0.482948f, 0.454521f, 0.404167f], [1f / 255f, 1f / 255f, 1f / 255f]);
}
