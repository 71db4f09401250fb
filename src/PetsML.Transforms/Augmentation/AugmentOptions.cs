using PetsML.Transforms.Presizing;
using PetsML.Transforms.Augmentation;

namespace PetsML;

/// <summary>
/// Settings for <see cref="BatchAugmenter"/>: fastai's <c>aug_transforms(size=224, min_scale=0.75)</c>
/// followed by <c>Normalize</c>, the batch transforms of the chapter-5 pet-breeds pipeline.
/// </summary>
/// <remarks>
/// Every default below is fastai's (docs/fastai-semantics.md, "Batch augmentation defaults" and "Crop window") and is written only here,
/// in <see cref="Defaults"/>. All random parameters are drawn per image, except the crop window,
/// which is drawn once per batch and shared by every image in it (fastai's <c>RandomResizedCropGPU</c>).
/// fastai's <c>mult</c> is not offered: scale <see cref="MaxRotate"/>, <see cref="MaxLighting"/> and
/// <see cref="MaxWarp"/> directly.
/// </remarks>
public sealed class AugmentOptions
{
    /// <summary>The default values, written once: fastai's <c>aug_transforms</c> and <c>Normalize</c> for the pet-breeds chapter.</summary>
    public static class Defaults
    {
        /// <summary>fastai's <c>aug_transforms(size=224)</c> in the chapter: 224 pixels.</summary>
        public const int Size = 224;
        /// <summary>The chapter's <c>min_scale=0.75</c>.</summary>
        public const double MinScale = 0.75;
        /// <summary>fastai's <c>do_flip=True</c>.</summary>
        public const bool DoFlip = true;
        /// <summary>fastai's <c>max_rotate=10</c> degrees.</summary>
        public const double MaxRotate = 10.0;
        /// <summary>fastai's <c>min_zoom=1</c>.</summary>
        public const double MinZoom = 1.0;
        /// <summary>fastai's <c>max_zoom=1.1</c>.</summary>
        public const double MaxZoom = 1.1;
        /// <summary>fastai's <c>max_lighting=0.2</c>.</summary>
        public const double MaxLighting = 0.2;
        /// <summary>fastai's <c>max_warp=0.2</c>.</summary>
        public const double MaxWarp = 0.2;
        /// <summary>fastai's <c>p_affine=0.75</c>.</summary>
        public const double PAffine = 0.75;
        /// <summary>fastai's <c>p_lighting=0.75</c>.</summary>
        public const double PLighting = 0.75;
        /// <summary>fastai's <c>pad_mode='reflection'</c>.</summary>
        public const PadMode PadMode = PetsML.PadMode.Reflection;
        /// <summary>ImageNet's mean and standard deviation, what the pretrained weights saw.</summary>
        public static readonly NormalizationStats Normalization = NormalizationStats.ImageNet;
    }

    /// <summary>Side of the square output, in pixels. Default 224.</summary>
    public int Size { get; set; } = Defaults.Size;

    /// <summary>
    /// Smallest fraction of the source image's area the per-batch random square crop window covers
    /// (the window side is round(√(U(MinScale, 1)·h·w))). Must be in (0, 1]. Default 0.75.
    /// </summary>
    public double MinScale { get; set; } = Defaults.MinScale;

    /// <summary>Whether images are mirrored left-right with probability 0.5. Default true.</summary>
    public bool DoFlip { get; set; } = Defaults.DoFlip;

    /// <summary>Largest rotation, in degrees; θ ~ U(−MaxRotate, MaxRotate). Must be in [0, 180]. Default 10.</summary>
    public double MaxRotate { get; set; } = Defaults.MaxRotate;

    /// <summary>Smallest zoom factor (1 = no zoom). Must be positive and at most <see cref="MaxZoom"/>. Default 1.0.</summary>
    public double MinZoom { get; set; } = Defaults.MinZoom;

    /// <summary>Largest zoom factor; z ~ U(MinZoom, MaxZoom). Default 1.1.</summary>
    public double MaxZoom { get; set; } = Defaults.MaxZoom;

    /// <summary>
    /// Lighting strength: brightness b ~ U(0.5·(1−MaxLighting), 0.5·(1+MaxLighting)) and contrast
    /// c = exp(U(ln(1−MaxLighting), −ln(1−MaxLighting))). Must be in [0, 1). Default 0.2.
    /// </summary>
    public double MaxLighting { get; set; } = Defaults.MaxLighting;

    /// <summary>Perspective warp magnitude; x_t, y_t ~ U(−MaxWarp, MaxWarp). Must be in [0, 1). Default 0.2.</summary>
    public double MaxWarp { get; set; } = Defaults.MaxWarp;

    /// <summary>
    /// Probability that each of rotation, zoom, warp-x and warp-y is applied to an image (each drawn
    /// independently). Must be in [0, 1]. Default 0.75.
    /// </summary>
    public double PAffine { get; set; } = Defaults.PAffine;

    /// <summary>
    /// Probability that each of brightness and contrast is applied to an image (drawn independently).
    /// Must be in [0, 1]. Default 0.75.
    /// </summary>
    public double PLighting { get; set; } = Defaults.PLighting;

    /// <summary>How samples outside the source image are filled. Default <see cref="PadMode.Reflection"/>.</summary>
    public PadMode PadMode { get; set; } = Defaults.PadMode;

    /// <summary>Per-channel normalisation applied last. Default <see cref="NormalizationStats.ImageNet"/>.</summary>
    public NormalizationStats Normalization { get; set; } = Defaults.Normalization;

    /// <summary>Checks every option and throws on the first invalid one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        if (Size < 1)
            throw new ArgumentOutOfRangeException(nameof(Size), Size, $"AugmentOptions.Size must be at least 1 pixel; got {Size}.");
        if (!(MinScale > 0 && MinScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinScale), MinScale, $"AugmentOptions.MinScale must be in (0, 1]; got {MinScale}.");
        if (!(MaxRotate >= 0 && MaxRotate <= 180))
            throw new ArgumentOutOfRangeException(nameof(MaxRotate), MaxRotate, $"AugmentOptions.MaxRotate must be in [0, 180] degrees; got {MaxRotate}.");
        if (!(MinZoom > 0 && double.IsFinite(MinZoom)))
            throw new ArgumentOutOfRangeException(nameof(MinZoom), MinZoom, $"AugmentOptions.MinZoom must be a positive number; got {MinZoom}.");
        if (!(MaxZoom >= MinZoom && double.IsFinite(MaxZoom)))
            throw new ArgumentOutOfRangeException(nameof(MaxZoom), MaxZoom, $"AugmentOptions.MaxZoom must be finite and at least MinZoom ({MinZoom}); got {MaxZoom}.");
        if (!(MaxLighting >= 0 && MaxLighting < 1))
            throw new ArgumentOutOfRangeException(nameof(MaxLighting), MaxLighting, $"AugmentOptions.MaxLighting must be in [0, 1); got {MaxLighting}.");
        // |warp| ≥ 1 folds the target quadrilateral onto itself and the homography degenerates.
        if (!(MaxWarp >= 0 && MaxWarp < 1))
            throw new ArgumentOutOfRangeException(nameof(MaxWarp), MaxWarp, $"AugmentOptions.MaxWarp must be in [0, 1); got {MaxWarp}.");
        if (!(PAffine >= 0 && PAffine <= 1))
            throw new ArgumentOutOfRangeException(nameof(PAffine), PAffine, $"AugmentOptions.PAffine must be a probability in [0, 1]; got {PAffine}.");
        if (!(PLighting >= 0 && PLighting <= 1))
            throw new ArgumentOutOfRangeException(nameof(PLighting), PLighting, $"AugmentOptions.PLighting must be a probability in [0, 1]; got {PLighting}.");
        if (!Enum.IsDefined(PadMode))
            throw new ArgumentOutOfRangeException(nameof(PadMode), PadMode, $"AugmentOptions.PadMode {(int)PadMode} is not a defined value.");
        if (Normalization is null)
            throw new ArgumentNullException(nameof(Normalization), "AugmentOptions.Normalization must not be null.");
    }

    /// <summary>A copy, so a component keeps the settings it was made with whatever the caller changes later.</summary>
    internal AugmentOptions Clone() => (AugmentOptions)MemberwiseClone();
}
