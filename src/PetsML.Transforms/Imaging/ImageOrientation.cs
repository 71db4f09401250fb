namespace PetsML.Transforms.Imaging;

/// <summary>
/// Turns an image upright according to its EXIF orientation value (1–8, TIFF tag 0x0112).
/// Pure pixel shuffling, separate from the decoder so it needs no native code.
/// </summary>
internal static class ImageOrientation
{
    /// <summary>
    /// Returns the upright image for EXIF <paramref name="orientation"/>; 1 (or any unknown value)
    /// returns <paramref name="image"/> itself.
    /// </summary>
    public static RgbImage Apply(RgbImage image, int orientation)
    {
        if (orientation is < 2 or > 8)
        {
            return image;
        }

        int w = image.Width, h = image.Height;
        bool swaps = orientation >= 5;
        int outW = swaps ? h : w, outH = swaps ? w : h;
        var src = image.Pixels;
        var dst = new byte[src.Length];
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                // (sx, sy): the stored pixel that belongs at (x, y) of the upright picture.
                (int sx, int sy) = orientation switch
                {
                    2 => (w - 1 - x, y),             // mirrored horizontally
                    3 => (w - 1 - x, h - 1 - y),     // rotated 180°
                    4 => (x, h - 1 - y),             // mirrored vertically
                    5 => (y, x),                     // transposed
                    6 => (y, h - 1 - x),             // stored rotated 90° CCW: turn 90° CW
                    7 => (w - 1 - y, h - 1 - x),     // transversed
                    _ => (w - 1 - y, x),             // 8: stored rotated 90° CW: turn 90° CCW
                };
                int s = 3 * (sy * w + sx), d = 3 * (y * outW + x);
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }

        return new RgbImage(outW, outH, dst);
    }
}
