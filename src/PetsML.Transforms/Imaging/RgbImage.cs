namespace PetsML.Transforms.Imaging;

/// <summary>
/// A decoded 8-bit RGB image: what fastai holds after <c>PILImage.create</c> (open, then
/// <c>convert('RGB')</c>). Pixels are interleaved row-major (HWC): byte <c>3·(y·Width + x) + c</c>
/// is channel c (0 = R, 1 = G, 2 = B) of the pixel in column x, row y.
/// </summary>
internal sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Width or height is not positive.</exception>
    /// <exception cref="ArgumentException">The buffer length is not 3·width·height.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        long expected = 3L * width * height;
        if (pixels.LongLength != expected)
        {
            throw new ArgumentException(
                $"RgbImage pixels: expected 3·{width}·{height} = {expected} bytes (HWC RGB), got {pixels.LongLength}.",
                nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Interleaved RGB bytes, row-major (HWC), length 3·Width·Height.</summary>
    public byte[] Pixels { get; }
}
