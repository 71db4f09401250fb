using PetsML.Transforms.Imaging;

namespace PetsML.Transforms.Presizing;

/// <summary>
/// fastai's item transform <c>Resize</c> followed by <c>ToTensor</c>: one decoded image to a
/// 3×H×W byte array (planar RGB), ready to be stacked into a uint8 batch.
/// </summary>
/// <remarks>
/// The box comes from <see cref="PresizeGeometry"/> and only that box is resampled, with
/// <see cref="AntialiasedResize"/> (Pillow's antialiased bilinear). The placement (<c>pctX</c>, <c>pctY</c>)
/// is the caller's: draw both from U(0, 1) with a seeded generator on training, pass
/// <see cref="PresizeGeometry.ValidationPct"/> on validation. Squish ignores them.
/// Thread-safe: no shared mutable state.
/// </remarks>
internal static class Presizer
{
    /// <summary>Presizes <paramref name="image"/> into a new array of <see cref="PresizeOptions.OutputLength"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A pct is outside [0, 1].</exception>
    public static byte[] Presize(RgbImage image, PresizeOptions options, double pctX, double pctY)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new byte[options.OutputLength];
        Presize(image, options, pctX, pctY, result);
        return result;
    }

    /// <summary>Presizes <paramref name="image"/> into <paramref name="destination"/> (CHW, 3·H·W bytes), allocating nothing large.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A pct is outside [0, 1].</exception>
    /// <exception cref="ArgumentException">The destination is shorter than <see cref="PresizeOptions.OutputLength"/>.</exception>
    public static void Presize(RgbImage image, PresizeOptions options, double pctX, double pctY, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        int width = options.TargetWidth, height = options.TargetHeight;
        PresizeBox box = PresizeGeometry.Compute(image.Width, image.Height, width, height, options.Method, pctX, pctY);
        AntialiasedResize.ResizeToChw(image, box, options.PadMode, width, height, destination);
    }
}
