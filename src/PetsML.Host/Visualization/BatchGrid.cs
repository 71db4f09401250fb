using PetsML.Transforms.Augmentation;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Host.Visualization;

/// <summary>
/// fastai's <c>show_batch</c> as a PNG file: the first images of a normalised batch in a grid, each with its
/// caption (usually the label) in black on white underneath.
/// </summary>
/// <remarks>
/// Layout: every cell is the image at its own pixel size with a <see cref="CaptionHeight"/> px caption band
/// below, surrounded by <see cref="CellMargin"/> px of white. The grid has min(columns, shown) columns and as
/// many rows as needed, so the PNG is columns·(W + 2·CellMargin) wide and rows·(H + CaptionHeight + 2·CellMargin)
/// high. Checked against SkiaSharp 3.119.4, the host's line (SKFont draws and measures text).
/// </remarks>
internal static class BatchGrid
{
    /// <summary>White border around each cell, in pixels.</summary>
    public const int CellMargin = 4;

    /// <summary>Height of the caption band under each image, in pixels.</summary>
    public const int CaptionHeight = 20;

    private const float FontSize = 14f;

    /// <summary>
    /// Denormalises (x·std + mean), clamps to [0, 1] and writes a grid of at most <paramref name="maxImages"/>
    /// images to <paramref name="path"/> as PNG. The file is written to a temporary name in the same folder
    /// and then moved into place, so a reader never sees a half-written PNG.
    /// </summary>
    /// <param name="normalisedImages">N×3×H×W floating-point images, normalised with <paramref name="stats"/>; any device.</param>
    /// <param name="stats">The statistics the images were normalised with.</param>
    /// <param name="captions">One caption per image of the batch (N).</param>
    /// <param name="path">Destination PNG file; its folder is created if missing; an existing file is replaced.</param>
    /// <param name="columns">Most images per row. Default 8.</param>
    /// <param name="maxImages">Most images shown (the first ones of the batch). Default 16.</param>
    public static void SavePng(Tensor normalisedImages, NormalizationStats stats, IReadOnlyList<string> captions,
        string path, int columns = 8, int maxImages = 16)
    {
        ArgumentNullException.ThrowIfNull(normalisedImages);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(captions);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (normalisedImages.dim() != 4 || normalisedImages.shape[1] != 3 || normalisedImages.shape[0] < 1)
            throw new ArgumentException(
                $"Images must be N×3×H×W with N ≥ 1; got shape [{string.Join(", ", normalisedImages.shape)}].",
                nameof(normalisedImages));
        if (!torch.is_floating_point(normalisedImages))
            throw new ArgumentException($"Images must be floating point (normalised); got {normalisedImages.dtype}.",
                nameof(normalisedImages));
        if (captions.Count != normalisedImages.shape[0])
            throw new ArgumentException(
                $"One caption per image is needed: {normalisedImages.shape[0]} images, {captions.Count} captions.",
                nameof(captions));
        if (columns < 1)
            throw new ArgumentOutOfRangeException(nameof(columns), columns, "At least one column is needed.");
        if (maxImages < 1)
            throw new ArgumentOutOfRangeException(nameof(maxImages), maxImages, "At least one image must be shown.");

        int shown = (int)Math.Min(maxImages, normalisedImages.shape[0]);
        int height = (int)normalisedImages.shape[2], width = (int)normalisedImages.shape[3];
        byte[] rgba = ToRgbaBytes(normalisedImages, stats, shown);

        int cols = Math.Min(columns, shown);
        int rows = (shown + cols - 1) / cols;
        int cellWidth = width + 2 * CellMargin, cellHeight = height + CaptionHeight + 2 * CellMargin;

        using var surface = SKSurface.Create(new SKImageInfo(cols * cellWidth, rows * cellHeight,
            SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = Typefaces.Find();
        using var font = new SKFont(typeface, FontSize);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int imageBytes = width * height * 4;
        for (int i = 0; i < shown; i++)
        {
            float x = (i % cols) * cellWidth + CellMargin, y = (i / cols) * cellHeight + CellMargin;
            using (var image = SKImage.FromPixelCopy(info, rgba.AsSpan(i * imageBytes, imageBytes), width * 4))
                canvas.DrawImage(image, x, y);
            string caption = Fit(captions[i] ?? string.Empty, font, width);
            // Baseline placed so the text's cap height sits centred in the caption band.
            float baseline = y + height + (CaptionHeight + FontSize * 0.7f) / 2f;
            canvas.DrawText(caption, x + (width - TextWidth(caption, font)) / 2f, baseline, font, ink);
        }

        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        WriteAtomically(path, png.AsSpan());
    }

    /// <summary>First <paramref name="count"/> images, denormalised, as RGBA bytes (opaque), image after image.</summary>
    private static byte[] ToRgbaBytes(Tensor images, NormalizationStats stats, int count)
    {
        using var scope = NewDisposeScope();
        var x = images[..count].to(float32, CPU);
        var mean = tensor(stats.Mean, [1, 3, 1, 1], float32);
        var std = tensor(stats.Std, [1, 3, 1, 1], float32);
        var pixels = (x * std + mean).clamp_(0, 1).mul_(255).round_().to_type(ScalarType.Byte);
        var alpha = full([count, 1, x.shape[2], x.shape[3]], 255, ScalarType.Byte);
        var rgba = cat([pixels, alpha], dim: 1).permute(0, 2, 3, 1).contiguous();
        return rgba.data<byte>().ToArray();
    }

    /// <summary>Advance width of <paramref name="text"/>.</summary>
    private static float TextWidth(string text, SKFont font) => font.MeasureText(text);

    /// <summary>Shortens <paramref name="text"/> with an ellipsis until it fits <paramref name="maxWidth"/> pixels.</summary>
    private static string Fit(string text, SKFont font, float maxWidth)
    {
        if (TextWidth(text, font) <= maxWidth)
            return text;
        for (int length = text.Length - 1; length > 0; length--)
        {
            string candidate = text[..length] + "…";
            if (TextWidth(candidate, font) <= maxWidth)
                return candidate;
        }
        return string.Empty;
    }

    private static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
                stream.Write(bytes);
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }
}
