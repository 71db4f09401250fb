using PetsML.Transforms.Presizing;
using PetsML.Transforms.Augmentation;

namespace PetsML;

/// <summary>
/// Settings for <see cref="BatchAugmenter"/>: fastai's <c>aug_transforms(size=224, min_scale=0.75)</c>
/// followed by <c>Normalize</c>, the batch transforms of the chapter-5 pet-breeds pipeline.
/// </summary>
/// <remarks>
/// Every default below is fastai's (docs/fastai-semantics.md, "Batch augmentation defaults" and "Crop window") and is written only here,
/// in the property initialisers. All random parameters are drawn per image, except the crop window,
/// which is drawn once per batch and shared by every image in it (fastai's <c>RandomResizedCropGPU</c>).
/// fastai's <c>mult</c> is not offered: scale <see cref="MaxRotate"/>, <see cref="MaxLighting"/> and
/// <see cref="MaxWarp"/> directly.
/// </remarks>
public sealed class AugmentOptions
{
    /// <summary>Side of the square output, in pixels. Default 224.</summary>
    public int Size { get; init; } = 224;

    /// <summary>
    /// Smallest fraction of the source image's area the per-batch random square crop window covers
    /// (the window side is round(√(U(MinScale, 1)·h·w))). Must be in (0, 1]. Default 0.75.
    /// </summary>
    public double MinScale { get; init; } = 0.75;

    /// <summary>Whether images are mirrored left-right with probability 0.5. Default true.</summary>
    public bool DoFlip { get; init; } = true;

    /// <summary>Largest rotation, in degrees; θ ~ U(−MaxRotate, MaxRotate). Must be in [0, 180]. Default 10.</summary>
    public double MaxRotate { get; init; } = 10.0;

    /// <summary>Smallest zoom factor (1 = no zoom). Must be positive and at most <see cref="MaxZoom"/>. Default 1.0.</summary>
    public double MinZoom { get; init; } = 1.0;

    /// <summary>Largest zoom factor; z ~ U(MinZoom, MaxZoom). Default 1.1.</summary>
    public double MaxZoom { get; init; } = 1.1;

    /// <summary>
    /// Lighting strength: brightness b ~ U(0.5·(1−MaxLighting), 0.5·(1+MaxLighting)) and contrast
    /// c = exp(U(ln(1−MaxLighting), −ln(1−MaxLighting))). Must be in [0, 1). Default 0.2.
    /// </summary>
    public double MaxLighting { get; init; } = 0.2;

    /// <summary>Perspective warp magnitude; x_t, y_t ~ U(−MaxWarp, MaxWarp). Must be in [0, 1). Default 0.2.</summary>
    public double MaxWarp { get; init; } = 0.2;

    /// <summary>
    /// Probability that each of rotation, zoom, warp-x and warp-y is applied to an image (each drawn
    /// independently). Must be in [0, 1]. Default 0.75.
    /// </summary>
    public double PAffine { get; init; } = 0.75;

    /// <summary>
    /// Probability that each of brightness and contrast is applied to an image (drawn independently).
    /// Must be in [0, 1]. Default 0.75.
    /// </summary>
    public double PLighting { get; init; } = 0.75;

    /// <summary>How samples outside the source image are filled. Default <see cref="PadMode.Reflection"/>.</summary>
    public PadMode PadMode { get; init; } = PadMode.Reflection;

    /// <summary>Per-channel normalisation applied last. Default <see cref="NormalizationStats.ImageNet"/>.</summary>
    public NormalizationStats Normalization { get; init; } = NormalizationStats.ImageNet;

    /// <summary>Checks every option and throws on the first invalid one.</summary>
    /// <exception cref="ArgumentException">Names the invalid option and says why.</exception>
    public void Validate()
    {
        if (Size < 1)
            throw new ArgumentException($"Size must be at least 1 pixel; got {Size}.", nameof(Size));
        if (!(MinScale > 0 && MinScale <= 1))
            throw new ArgumentException($"MinScale must be in (0, 1]; got {MinScale}.", nameof(MinScale));
        if (!(MaxRotate >= 0 && MaxRotate <= 180))
            throw new ArgumentException($"MaxRotate must be in [0, 180] degrees; got {MaxRotate}.", nameof(MaxRotate));
        if (!(MinZoom > 0 && double.IsFinite(MinZoom)))
            throw new ArgumentException($"MinZoom must be a positive number; got {MinZoom}.", nameof(MinZoom));
        if (!(MaxZoom >= MinZoom && double.IsFinite(MaxZoom)))
            throw new ArgumentException($"MaxZoom must be finite and at least MinZoom ({MinZoom}); got {MaxZoom}.", nameof(MaxZoom));
        if (!(MaxLighting >= 0 && MaxLighting < 1))
            throw new ArgumentException($"MaxLighting must be in [0, 1); got {MaxLighting}.", nameof(MaxLighting));
        // |warp| ≥ 1 folds the target quadrilateral onto itself and the homography degenerates.
        if (!(MaxWarp >= 0 && MaxWarp < 1))
            throw new ArgumentException($"MaxWarp must be in [0, 1); got {MaxWarp}.", nameof(MaxWarp));
        if (!(PAffine >= 0 && PAffine <= 1))
            throw new ArgumentException($"PAffine must be a probability in [0, 1]; got {PAffine}.", nameof(PAffine));
        if (!(PLighting >= 0 && PLighting <= 1))
            throw new ArgumentException($"PLighting must be a probability in [0, 1]; got {PLighting}.", nameof(PLighting));
        if (!Enum.IsDefined(PadMode))
            throw new ArgumentException($"PadMode {(int)PadMode} is not a defined value.", nameof(PadMode));
        if (Normalization is null)
            throw new ArgumentException("Normalization must not be null.", nameof(Normalization));
    }
}
