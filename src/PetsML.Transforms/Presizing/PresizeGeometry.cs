namespace PetsML.Transforms.Presizing;

/// <summary>
/// fastai's <c>Resize</c> box arithmetic, exactly: which part of the image becomes the output.
/// </summary>
/// <remarks>
/// With image size (w, h) and target (W, H): <c>m = w/W</c> if that ratio is the smaller (Crop) or the
/// larger (Pad) of w/W and h/H, else <c>m = h/H</c>; the box is <c>(int(m·W), int(m·H))</c> (double
/// arithmetic, then truncation) with top-left <c>(int(pctX·(w − cw)), int(pctY·(h − ch)))</c>, truncated
/// toward zero as Python's <c>int</c> does (for Pad the differences are negative). Squish takes the
/// whole image. Training draws pcts from U(0, 1); validation uses <see cref="ValidationPct"/>.
/// </remarks>
internal static class PresizeGeometry
{
    /// <summary>0.5: validation items are cut from the centre (fastai's <c>pcts = (0.5, 0.5)</c>).</summary>
    public const double ValidationPct = 0.5;

    /// <summary>The source box for an image of <paramref name="imageWidth"/>×<paramref name="imageHeight"/>.</summary>
    /// <param name="imageWidth">Image width in pixels.</param>
    /// <param name="imageHeight">Image height in pixels.</param>
    /// <param name="targetWidth">Output width in pixels.</param>
    /// <param name="targetHeight">Output height in pixels.</param>
    /// <param name="method">Crop, Squish or Pad.</param>
    /// <param name="pctX">Horizontal placement in [0, 1]: 0 = left-aligned, 1 = right-aligned.</param>
    /// <param name="pctY">Vertical placement in [0, 1]: 0 = top, 1 = bottom.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or a pct is outside [0, 1].</exception>
    public static PresizeBox Compute(int imageWidth, int imageHeight, int targetWidth, int targetHeight,
        PresizeMethod method, double pctX, double pctY)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetHeight);
        CheckPct(pctX, nameof(pctX));
        CheckPct(pctY, nameof(pctY));

        switch (method)
        {
            case PresizeMethod.Squish:
                return new PresizeBox(0, 0, imageWidth, imageHeight);
            case PresizeMethod.Crop:
            case PresizeMethod.Pad:
                double ratioX = (double)imageWidth / targetWidth;
                double ratioY = (double)imageHeight / targetHeight;
                bool useX = method == PresizeMethod.Crop ? ratioX < ratioY : ratioX > ratioY;
                double m = useX ? ratioX : ratioY;
                int cw = (int)(m * targetWidth);
                int ch = (int)(m * targetHeight);
                // A tiny image and a large target cannot truncate to zero here (m·W ≥ the image side
                // for the chosen axis), but the other axis can for extreme aspect ratios.
                cw = Math.Max(cw, 1);
                ch = Math.Max(ch, 1);
                int x = (int)(pctX * (imageWidth - cw));   // C# casts truncate toward zero, like Python's int()
                int y = (int)(pctY * (imageHeight - ch));
                return new PresizeBox(x, y, cw, ch);
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown PresizeMethod.");
        }
    }

    private static void CheckPct(double pct, string name)
    {
        if (!(pct >= 0.0 && pct <= 1.0))
        {
            throw new ArgumentOutOfRangeException(name, pct, $"{name} must be in [0, 1] (fastai draws it from U(0, 1); validation uses 0.5).");
        }
    }
}
