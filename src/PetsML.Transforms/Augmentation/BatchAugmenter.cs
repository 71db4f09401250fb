using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PetsML.Transforms.Augmentation;

/// <summary>
/// fastai's <c>aug_transforms(size=224, min_scale=0.75)</c> + <c>Normalize</c> on whole batches of presized
/// images: random crop window (one per batch), flip, rotation, zoom and perspective warp (per image), then
/// brightness/contrast and normalisation. <see cref="Validation"/> is the deterministic counterpart.
/// </summary>
/// <remarks>
/// <para>
/// <b>One resample instead of two.</b> In chapter 5 fastai resamples each training image twice: flip, rotate,
/// zoom and warp at the presized 460 px, then the shared crop window down to 224 px (docs/fastai-semantics.md
/// §4.9, §15 item 1). Here the maps are composed first (output grid → crop window → affine M → warp
/// homography, see <see cref="AugmentationGeometry"/>) and every image is read with a single
/// <c>grid_sample(bilinear, padding = <see cref="AugmentOptions.PadMode"/>, align_corners = true)</c>, which
/// saves one bilinear blur and one 460 px intermediate. Reflection padding then mirrors the real source
/// image instead of fastai's intermediate.
/// </para>
/// <para>
/// <b>Anti-aliasing.</b> When the crop window is more than twice <see cref="AugmentOptions.Size"/> (e.g. a
/// 460 px window to 224 px), the source is first area-averaged by d = window/(2·Size), fastai's rule (§4.5),
/// so the bilinear step never skips pixels. See <see cref="AugmentationGeometry.AreaPreDownscale"/>.
/// </para>
/// <para>
/// Works on the device the images are on, for batches of any size ≥ 1. Each call runs inside its own dispose
/// scope and returns a new float32 N×3×Size×Size tensor that the caller owns and must dispose.
/// </para>
/// </remarks>
public sealed class BatchAugmenter
{
    private readonly AugmentOptions _options;

    /// <summary>Creates an augmenter; the options are validated here.</summary>
    /// <exception cref="ArgumentException">When an option is invalid (the message names it).</exception>
    public BatchAugmenter(AugmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>The settings this augmenter applies.</summary>
    public AugmentOptions Options => _options;

    /// <summary>
    /// Augments a training batch with parameters drawn from <paramref name="generator"/>
    /// (see <see cref="AugmentationDraw.Sample"/>).
    /// </summary>
    /// <param name="images">uint8 N×3×H×W with values 0..255 (or float32 in [0, 1]), e.g. presized to 460×460.</param>
    /// <param name="generator">The only source of randomness; the same state gives the same batch.</param>
    /// <returns>float32 N×3×Size×Size, normalised; owned by the caller.</returns>
    public Tensor Training(Tensor images, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var (n, h, w) = CheckImages(images);
        var draw = AugmentationDraw.Sample(_options, n, h, w, generator);
        return Training(images, draw);
    }

    /// <summary>Augments a training batch with the given parameters (e.g. built by hand in a test).</summary>
    /// <param name="images">uint8 N×3×H×W with values 0..255 (or float32 in [0, 1]).</param>
    /// <param name="draw">Parameters for exactly N images of H×W.</param>
    /// <returns>float32 N×3×Size×Size, normalised; owned by the caller.</returns>
    public Tensor Training(Tensor images, AugmentationDraw draw)
    {
        ArgumentNullException.ThrowIfNull(draw);
        var (n, h, w) = CheckImages(images);
        draw.CheckMatches(n, h, w);

        using var scope = NewDisposeScope();
        var device = images.device;
        var maps = tensor(AugmentationGeometry.SourceMaps(draw), [n, 3, 3], float64).to(float32, device);
        var sampled = Resample(images, maps, draw.Crop);
        ApplyLighting(sampled, draw.Brightness, draw.Contrast);
        Normalize(sampled);
        return sampled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The deterministic validation path, fastai's exactly (§4.9): the largest centred square (the whole image
    /// when square), area-reduced when it is more than twice Size (460 → 448 for Size 224), then bilinearly
    /// resampled to Size×Size with align_corners=True (the identity affine), then normalised. No lighting.
    /// </summary>
    /// <param name="images">uint8 N×3×H×W with values 0..255 (or float32 in [0, 1]).</param>
    /// <returns>float32 N×3×Size×Size, normalised; owned by the caller.</returns>
    public Tensor Validation(Tensor images)
    {
        var (n, h, w) = CheckImages(images);
        using var scope = NewDisposeScope();
        var crop = CropWindow.CenteredSquare(h, w);
        var map = tensor(AugmentationGeometry.CropMap(crop, h, w), [1, 3, 3], float64).to(float32, images.device);
        var sampled = Resample(images, map.expand(n, 3, 3), crop);
        Normalize(sampled);
        return sampled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One resample of the batch: optional area pre-reduction, projective grid from the N×3×3 output→source
    /// maps, one grid_sample. Returns float32 in [0, 1].
    /// </summary>
    private Tensor Resample(Tensor images, Tensor maps, CropWindow crop)
    {
        int size = _options.Size;
        long n = images.shape[0];
        int h = (int)images.shape[2], w = (int)images.shape[3];

        // Sample the raw 0..255 values and scale the (4× smaller) output afterwards: both steps are linear.
        bool isBytes = images.dtype == ScalarType.Byte;
        var source = isBytes ? images.to_type(float32) : images;
        if (AugmentationGeometry.AreaPreDownscale(crop, h, w, size) is { } reduced)
            source = F.interpolate(source, [reduced.Height, reduced.Width], mode: InterpolationMode.Area);

        // Output positions u ∈ [−1, 1] (align_corners=True: the ends are the centres of the end pixels).
        var axis = linspace(-1.0, 1.0, size, dtype: float32, device: images.device);
        var uy = axis.view(size, 1).expand(size, size);
        var ux = axis.view(1, size).expand(size, size);
        var homogeneous = stack([ux, uy, ones_like(ux)], dim: -1).view(1, size * size, 3);

        // (N, S², 3) = u · Pᵀ, then divide by the homogeneous component (1 unless warped).
        var projected = matmul(homogeneous, maps.transpose(1, 2));
        var grid = (projected[.., .., ..2] / projected[.., .., 2..3]).view(n, size, size, 2);

        var sampled = F.grid_sample(source, grid, GridSampleMode.Bilinear,
            _options.PadMode.ToGridSample(), align_corners: true);
        if (isBytes)
            sampled.div_(255.0);
        return sampled;
    }

    /// <summary>
    /// fastai's lighting (§4.7) in logit space, in place: y = sigmoid(c·(logit(x) + logit(b))) with x clamped to
    /// [1e-7, 1−1e-7]. Skipped when every image is neutral (b = 0.5, c = 1), where it is the identity.
    /// </summary>
    private static void ApplyLighting(Tensor x, float[] brightness, float[] contrast)
    {
        if (brightness.All(b => b == 0.5f) && contrast.All(c => c == 1f))
            return;
        long n = x.shape[0];
        var logitB = brightness.Select(b => (float)Math.Log(b / (1.0 - b))).ToArray();
        var shift = tensor(logitB, [n, 1, 1, 1], float32).to(x.device);
        var scale = tensor(contrast, [n, 1, 1, 1], float32).to(x.device);
        x.clamp_(1e-7, 1 - 1e-7).logit_().add_(shift).mul_(scale).sigmoid_();
    }

    /// <summary>(x − mean) / std per channel, in place.</summary>
    private void Normalize(Tensor x)
    {
        var stats = _options.Normalization;
        var mean = tensor(stats.Mean, [1, 3, 1, 1], float32).to(x.device);
        var std = tensor(stats.Std, [1, 3, 1, 1], float32).to(x.device);
        x.sub_(mean).div_(std);
    }

    private static (int N, int H, int W) CheckImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException(
                $"Images must be N×3×H×W; got shape [{string.Join(", ", images.shape)}].", nameof(images));
        if (images.dtype != ScalarType.Byte && images.dtype != ScalarType.Float32)
            throw new ArgumentException(
                $"Images must be uint8 (0..255) or float32 (0..1); got {images.dtype}.", nameof(images));
        if (images.shape[0] < 1)
            throw new ArgumentException("The batch must hold at least one image.", nameof(images));
        if (images.shape[2] < 2 || images.shape[3] < 2)
            throw new ArgumentException(
                $"Images must be at least 2×2 pixels; got {images.shape[2]}×{images.shape[3]}.", nameof(images));
        return ((int)images.shape[0], (int)images.shape[2], (int)images.shape[3]);
    }
}
