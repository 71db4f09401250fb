using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

using PetsML.Transforms.Interop.Torch;
using PetsML.Transforms.Presizing;

namespace PetsML.Transforms.Augmentation;

/// <summary>
/// fastai's <c>aug_transforms(size=224, min_scale=0.75)</c> + <c>Normalize</c> on whole batches of presized
/// images: random crop window (one per batch), flip, rotation, zoom and perspective warp (per image), then
/// brightness/contrast and normalisation. <see cref="Validation"/> is the deterministic counterpart.
/// </summary>
/// <remarks>
/// <para>
/// <b>Two resamples, as fastai.</b> In chapter 5 fastai resamples each training image twice (docs/fastai-semantics.md,
/// "Two resamples"): flip, rotate, zoom and warp at the presized 460 px (bilinear, exact at pixel centres for an identity
/// draw), then the shared crop window down to <see cref="AugmentOptions.Size"/> by validation's own path (area
/// pre-reduction when the window is more than twice Size, then bilinear). Composing the maps into one resample is cheaper
/// but leaves the training views about 15% sharper (mean |Laplacian|) than the validation view of the same photo, while
/// fastai's are level with it; with many classes and few photos the model then leaned on detail the validation view
/// does not show (docs/many-classes-investigation.md).
/// </para>
/// <para>
/// <b>Anti-aliasing.</b> When the crop window is more than twice <see cref="AugmentOptions.Size"/> (e.g. a
/// 460 px window to 224 px), the window is first area-averaged by d = window/(2·Size), fastai's rule ("Anti-aliasing before bilinear sampling").
/// See <see cref="AugmentationGeometry.AreaPreDownscale"/>.
/// </para>
/// <para>
/// Works on the device the images are on, for batches of any size ≥ 1. Each call runs inside its own dispose
/// scope and returns a new float32 N×3×Size×Size tensor that the caller owns and must dispose.
/// </para>
/// <para>
/// <b>Memory.</b> uint8 batches are converted to float32 eight images at a time into one buffer that is kept
/// between calls and reused while the image size and device stay the same: allocating it afresh costs the operating
/// system more page faults than the conversion itself costs, and a whole batch's copy
/// (81 MB for 32×3×460×460) would stay resident beside the training step. Dispose the augmenter to release it.
/// Calls are serialised by a lock, so one instance may be shared, but it augments one batch at a time.
/// </para>
/// </remarks>
internal sealed class BatchAugmenter : IDisposable
{
    private readonly AugmentOptions _options;
    private readonly Lock _gate = new();
    private Tensor? _floatSource;
    private bool _disposed;

    /// <summary>Creates an augmenter; the options are validated here.</summary>
    /// <exception cref="ArgumentException">When an option is invalid (the message names it).</exception>
    public BatchAugmenter(AugmentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Clone();
        options.Validate();
        NativeTorchRuntime.EnsureLoaded();
        _options = options;
    }

    /// <summary>A copy of the settings this augmenter applies (changing it changes nothing).</summary>
    public AugmentOptions Options => _options.Clone();

    /// <summary>The settings themselves, for PetsML's own per-batch code (read only).</summary>
    internal AugmentOptions Settings => _options;

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

        double[] affineWarp = AugmentationGeometry.AffineWarpMaps(draw);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = NewDisposeScope();
            // A first pass that is the identity for every image reads each pixel at its own centre: skipped, it would change nothing
            // but float rounding.
            var firstMaps = IsIdentity(affineWarp) ? null : tensor(affineWarp, [n, 3, 3], float32, images.device);
            var (sampled, scale) = Resample(images, draw.Crop, firstMaps);
            if (ApplyLighting(sampled, scale, draw.Brightness, draw.Contrast))
                scale = 1.0;
            Normalize(sampled, scale);
            return sampled.MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// The deterministic validation path, fastai's exactly (docs/fastai-semantics.md, "Validation path"): the largest centred square (the whole image
    /// when square), area-reduced when it is more than twice Size (460 → 448 for Size 224), then bilinearly
    /// resampled to Size×Size with align_corners=True (the identity affine), then normalised. No lighting.
    /// </summary>
    /// <param name="images">uint8 N×3×H×W with values 0..255 (or float32 in [0, 1]).</param>
    /// <returns>float32 N×3×Size×Size, normalised; owned by the caller.</returns>
    public Tensor Validation(Tensor images)
    {
        var (n, h, w) = CheckImages(images);
        var crop = CropWindow.CenteredSquare(h, w);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = NewDisposeScope();
            var (sampled, scale) = Resample(images, crop);
            Normalize(sampled, scale);
            return sampled.MoveToOuterDisposeScope();
        }
    }

    /// <summary>Releases the cached float32 copy of the last batch.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _floatSource?.Dispose();
            _floatSource = null;
        }
    }

    /// <summary>
    /// Resamples the batch as fastai does: with <paramref name="firstMaps"/> (training) each image is first resampled at
    /// its own size through those output→source maps (the affine + warp pass); then the crop window is cut out,
    /// area-reduced when it is more than twice Size, and resized to Size×Size bilinearly (align_corners=True).
    /// Returns the sampled float32 values and the factor that scales them to [0, 1]
    /// (1/255 for uint8 input: sampling is linear, so the 4× smaller output is scaled instead of the input).
    /// uint8 batches are converted and sampled <see cref="ChunkImages"/> images at a time (see the class remarks);
    /// every output pixel depends on its own image only, so the result is the same as one call over the batch.
    /// </summary>
    private (Tensor Sampled, double Scale) Resample(Tensor images, CropWindow crop, Tensor? firstMaps = null)
    {
        int size = _options.Size;
        int n = (int)images.shape[0], h = (int)images.shape[2], w = (int)images.shape[3];
        var padding = _options.PadMode.ToGridSample();
        var window = CropWindow.Full(crop.Height, crop.Width);
        var reduced = AugmentationGeometry.AreaPreDownscale(window, crop.Height, crop.Width, size);
        var windowMap = tensor(AugmentationGeometry.CropMap(window, crop.Height, crop.Width), [1, 3, 3], float32, images.device);
        Tensor Sample(Tensor source, int start, int count)
        {
            // The affine pass is computed for the window's pixels only: the rest of the intermediate would be cut away.
            if (firstMaps is not null)
                source = F.grid_sample(source,
                    ProjectiveGrid(firstMaps.narrow(0, start, count), h, w, images.device)
                        .narrow(1, crop.Top, crop.Height).narrow(2, crop.Left, crop.Width),
                    GridSampleMode.Bilinear, padding, align_corners: true);
            else
                source = source.narrow(2, crop.Top, crop.Height).narrow(3, crop.Left, crop.Width);
            if (reduced is { } r)
                source = F.interpolate(source, [r.Height, r.Width], mode: InterpolationMode.Area);
            var grid = ProjectiveGrid(windowMap.expand(count, 3, 3), size, size, images.device);
            return F.grid_sample(source, grid, GridSampleMode.Bilinear, padding, align_corners: true);
        }

        if (images.dtype != ScalarType.Byte)
            return (Sample(images, 0, n), 1.0);
        if (n <= ChunkImages)
            return (Sample(FloatCopy(images), 0, n), 1.0 / 255.0);
        var sampled = empty([n, 3, size, size], float32, images.device);
        for (int start = 0; start < n; start += ChunkImages)
        {
            int count = Math.Min(ChunkImages, n - start);
            using var chunkScope = NewDisposeScope();
            sampled.narrow(0, start, count).copy_(Sample(FloatCopy(images.narrow(0, start, count)), start, count));
        }
        return (sampled, 1.0 / 255.0);
    }

    private static bool IsIdentity(double[] maps)
    {
        for (int i = 0; i < maps.Length; i++)
            if (Math.Abs(maps[i] - (i % 9 is 0 or 4 or 8 ? 1.0 : 0.0)) > 1e-12) // the warp's solve may leave 1e-17s
                return false;
        return true;
    }

    /// <summary>
    /// Images converted to float32 at a time: the float copy of a whole uint8 batch at presize resolution (81 MB for
    /// 32×3×460×460) would stay resident beside the training step; a chunk of 8 costs 20 MB and the same time.
    /// </summary>
    internal const int ChunkImages = 8;

    /// <summary>The uint8 images converted into the reused float32 buffer (see the class remarks); a view of its first rows.</summary>
    private Tensor FloatCopy(Tensor images)
    {
        if (_floatSource is null || _floatSource.shape[0] < images.shape[0] || !_floatSource.shape.Skip(1).SequenceEqual(images.shape.Skip(1))
            || _floatSource.device_type != images.device_type || _floatSource.device_index != images.device_index)
        {
            _floatSource?.Dispose();
            long[] shape = [Math.Max(images.shape[0], ChunkImages), .. images.shape.Skip(1)];
            _floatSource = empty(shape, float32, images.device).DetachFromDisposeScope();
        }
        var view = _floatSource.narrow(0, 0, images.shape[0]);
        view.copy_(images);
        return view;
    }

    /// <summary>
    /// The N×H×W×2 sampling grid (x, y) for the output→source maps P: source = (P·[u, 1]) / its third component,
    /// with u on the align_corners=True lattice of [−1, 1]². Built from outer sums of a row term and a column
    /// term, which is several times cheaper on the CPU than a batched N×S²×3 by 3×3 matrix product.
    /// </summary>
    private static Tensor ProjectiveGrid(Tensor maps, int height, int width, Device device)
    {
        long n = maps.shape[0];
        var ux = linspace(-1.0, 1.0, width, dtype: float32, device: device).view(1, 1, width);
        var uy = linspace(-1.0, 1.0, height, dtype: float32, device: device).view(1, height, 1);
        Tensor Row(int r) =>
            maps[.., r, 0].reshape(n, 1, 1) * ux + (maps[.., r, 1].reshape(n, 1, 1) * uy + maps[.., r, 2].reshape(n, 1, 1));
        var inverseW = Row(2).reciprocal_();
        return stack([Row(0).mul_(inverseW), Row(1).mul_(inverseW)], dim: -1);
    }

    /// <summary>
    /// fastai's lighting (docs/fastai-semantics.md, "Lighting") in logit space, in place: y = sigmoid(c·(logit(x) + logit(b))) with x = scale·sampled
    /// clamped to [1e-7, 1−1e-7]. Returns false, leaving the values untouched (and unscaled), when every image is
    /// neutral (b = 0.5, c = 1), where the formula is the identity.
    /// </summary>
    private static bool ApplyLighting(Tensor x, double scale, float[] brightness, float[] contrast)
    {
        if (brightness.All(b => b == 0.5f) && contrast.All(c => c == 1f))
            return false;
        long n = x.shape[0];
        // c·(logit(x) + logit(b)) = c·logit(x) + c·logit(b): one multiply and one add per pixel.
        var shift = brightness.Select((b, i) => (float)(contrast[i] * Math.Log(b / (1.0 - b)))).ToArray();
        var shiftT = tensor(shift, [n, 1, 1, 1], float32).to(x.device);
        var scaleT = tensor(contrast, [n, 1, 1, 1], float32).to(x.device);
        if (scale != 1.0)
            x.mul_(scale);
        x.clamp_(1e-7, 1 - 1e-7).logit_().mul_(scaleT).add_(shiftT).sigmoid_();
        return true;
    }

    /// <summary>(scale·x − mean) / std per channel, in place, as one multiply and one add.</summary>
    private void Normalize(Tensor x, double scale)
    {
        var stats = _options.Normalization;
        var factor = stats.Std.Select(s => (float)(scale / s)).ToArray();
        var offset = stats.Mean.Select((m, c) => -m / stats.Std[c]).ToArray();
        x.mul_(tensor(factor, [1, 3, 1, 1], float32).to(x.device))
         .add_(tensor(offset, [1, 3, 1, 1], float32).to(x.device));
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
