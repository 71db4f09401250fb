using TorchSharp;

namespace PetsML.Transforms.Augmentation;

/// <summary>
/// The coordinate maths of the batch augmentation: for each image one 3×3 projective matrix that takes an
/// output position u ∈ [−1, 1]² (align_corners=True convention) to the position in the source image where
/// <c>grid_sample</c> reads, composing, in this order, crop window → affine M = Flip·Rotate·Zoom →
/// perspective warp (docs/fastai-semantics.md, "Affine matrices" to "Anti-aliasing before bilinear sampling").
/// </summary>
/// <remarks>
/// fastai samples twice in chapter 5 (affine+warp at the presized 460 px, then the crop window to 224 px), and so
/// does <see cref="BatchAugmenter"/>: <see cref="AffineWarpMaps"/> for the first pass; the second cuts the crop window
/// out of that intermediate and resizes it (<see cref="AreaPreDownscale"/>, then <see cref="CropMap"/> of the whole
/// window). Matrices are computed in double precision on the CPU (a few per
/// batch), then handed to the images' device as float32.
/// </remarks>
internal static class AugmentationGeometry
{
    /// <summary>
    /// The maps without the crop window: perspective warp · affine M per image (row-major 3×3, length 9·N), taking a
    /// position of an output the size of the source to the source (fastai's first resample; docs/fastai-semantics.md, "Two resamples").
    /// </summary>
    internal static double[] AffineWarpMaps(AugmentationDraw draw)
    {
        int n = draw.Count;
        double[] warps = WarpHomographies(draw.WarpX, draw.WarpY);
        var maps = new double[9 * n];
        for (int i = 0; i < n; i++)
        {
            double[] affine = AffineMap(draw.FlipSign[i], draw.RotationDegrees[i], draw.Zoom[i],
                draw.ZoomCenterX[i], draw.ZoomCenterY[i], draw.SourceHeight, draw.SourceWidth);
            Multiply(warps.AsSpan(9 * i, 9), affine).CopyTo(maps, 9 * i);
        }
        return maps;
    }

    /// <summary>
    /// Output u ∈ [−1, 1] of the resampled window → the source's normalised coordinate v (align_corners=True on
    /// both sides: −1 and 1 are the centres of the first and last pixel). Along x:
    /// source pixel p = left + (u+1)/2·(width−1), v = 2p/(W−1) − 1.
    /// </summary>
    internal static double[] CropMap(CropWindow crop, int sourceHeight, int sourceWidth)
    {
        double ax = (crop.Width - 1.0) / (sourceWidth - 1.0);
        double bx = (2.0 * crop.Left + crop.Width - 1.0) / (sourceWidth - 1.0) - 1.0;
        double ay = (crop.Height - 1.0) / (sourceHeight - 1.0);
        double by = (2.0 * crop.Top + crop.Height - 1.0) / (sourceHeight - 1.0) - 1.0;
        return [ax, 0, bx, 0, ay, by, 0, 0, 1];
    }

    /// <summary>
    /// fastai's affine matrix M = Flip · Rotate · Zoom (docs/fastai-semantics.md, "Affine matrices"), with the aspect correction for non-square
    /// sources (M[0,1] ×= h/w, M[1,0] ×= w/h), as a 3×3 with last row (0, 0, 1).
    /// </summary>
    internal static double[] AffineMap(double flip, double degrees, double zoom, double centerX, double centerY,
        int sourceHeight, int sourceWidth)
    {
        double theta = degrees * Math.PI / 180.0;
        double cos = Math.Cos(theta), sin = Math.Sin(theta);
        double s = 1.0 / zoom;
        double[] flipM = [flip, 0, 0, 0, 1, 0, 0, 0, 1];
        double[] rotateM = [cos, sin, 0, -sin, cos, 0, 0, 0, 1];
        double[] zoomM = [s, 0, (1 - s) * (2 * centerX - 1), 0, s, (1 - s) * (2 * centerY - 1), 0, 0, 1];
        double[] m = Multiply(flipM, Multiply(rotateM, zoomM));
        m[1] *= (double)sourceHeight / sourceWidth;
        m[3] *= (double)sourceWidth / sourceHeight;
        return m;
    }

    /// <summary>
    /// fastai's perspective warp (docs/fastai-semantics.md, "Perspective warp"): the homography H (h₈ = 1) that maps each target corner
    /// (−1−y_t, −1−x_t), (−1+y_t, 1+x_t), (1+y_t, −1+x_t), (1−y_t, 1−x_t) to its source corner
    /// (−1, −1), (−1, 1), (1, −1), (1, 1). One batched float64 solve of the N 8×8 linear systems.
    /// Row-major 3×3 per image.
    /// </summary>
    /// <remarks>
    /// fastai leaves the coordinates unwarped when a homogeneous denominator is exactly 0. That is not
    /// special-cased here: for warp magnitudes like the default 0.2 the denominator stays close to 1 over the
    /// whole sampled area.
    /// </remarks>
    internal static double[] WarpHomographies(float[] warpX, float[] warpY)
    {
        int n = warpX.Length;
        ReadOnlySpan<(double X, double Y)> sources = [(-1, -1), (-1, 1), (1, -1), (1, 1)];
        var a = new double[n * 64];
        var b = new double[n * 8];
        for (int i = 0; i < n; i++)
        {
            double xt = warpX[i], yt = warpY[i];
            ReadOnlySpan<(double X, double Y)> targets =
                [(-1 - yt, -1 - xt), (-1 + yt, 1 + xt), (1 + yt, -1 + xt), (1 - yt, 1 - xt)];
            for (int k = 0; k < 4; k++)
            {
                var (x, y) = targets[k];
                var (sx, sy) = sources[k];
                // sx = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), sy = (h3 x + h4 y + h5) / (h6 x + h7 y + 1)
                double[] rowX = [x, y, 1, 0, 0, 0, -sx * x, -sx * y];
                double[] rowY = [0, 0, 0, x, y, 1, -sy * x, -sy * y];
                rowX.CopyTo(a, i * 64 + (2 * k) * 8);
                rowY.CopyTo(a, i * 64 + (2 * k + 1) * 8);
                b[i * 8 + 2 * k] = sx;
                b[i * 8 + 2 * k + 1] = sy;
            }
        }

        double[] solution;
        using (var scope = torch.NewDisposeScope())
        {
            var ta = torch.tensor(a, [n, 8, 8], torch.float64);
            var tb = torch.tensor(b, [n, 8, 1], torch.float64);
            solution = torch.linalg.solve(ta, tb).data<double>().ToArray();
        }

        var h = new double[n * 9];
        for (int i = 0; i < n; i++)
        {
            solution.AsSpan(i * 8, 8).CopyTo(h.AsSpan(i * 9, 8));
            h[i * 9 + 8] = 1.0;
        }
        return h;
    }

    /// <summary>
    /// fastai's anti-aliasing rule (docs/fastai-semantics.md, "Anti-aliasing before bilinear sampling"): when the crop window is more than twice the output size,
    /// bilinear sampling would skip source pixels, so the window is first area-averaged by
    /// d = window / (2·output). Returns the reduced source size, or null when no reduction is needed.
    /// The factor uses the smaller of the two axes' ratios, as fastai's <c>min</c> does.
    /// </summary>
    /// <remarks>
    /// <see cref="BatchAugmenter"/> applies it, as fastai does, to the window cut out of the image (after the affine
    /// pass on training). Zoom, rotation and warp do not enter the factor: they run at the full presized resolution,
    /// where it never downsamples.
    /// The size is computed in integers, so 460 px with a 460 px window and a 224 px output gives exactly 448.
    /// </remarks>
    internal static (int Height, int Width)? AreaPreDownscale(CropWindow crop, int sourceHeight, int sourceWidth, int outputSize)
    {
        // d = min(crop.Height, crop.Width) / (2·outputSize); reduce only when d > 1.
        long window = Math.Min(crop.Height, crop.Width);
        long twiceOutput = 2L * outputSize;
        if (window <= twiceOutput)
            return null;
        int height = (int)(sourceHeight * twiceOutput / window);
        int width = (int)(sourceWidth * twiceOutput / window);
        return (Math.Max(height, 1), Math.Max(width, 1));
    }

    private static double[] Multiply(ReadOnlySpan<double> left, ReadOnlySpan<double> right)
    {
        var result = new double[9];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
                result[r * 3 + c] = left[r * 3] * right[c] + left[r * 3 + 1] * right[3 + c] + left[r * 3 + 2] * right[6 + c];
        return result;
    }
}
