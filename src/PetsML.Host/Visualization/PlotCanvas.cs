using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>
/// A white SkiaSharp canvas with text helpers and an atomic PNG writer, for the pictures that are not charts (the
/// top-losses grid: photos with captions). Charts are ScottPlot's (<see cref="Charts"/>).
/// </summary>
/// <remarks>
/// Checked against SkiaSharp 3.119.4. The Linux "NoDependencies" Skia build has no fontconfig, so the default typeface
/// can be empty: <see cref="Typefaces"/> finds one that has glyphs.
/// </remarks>
internal sealed class PlotCanvas : IDisposable
{
    readonly SKSurface _surface;
    readonly SKTypeface _typeface;
    readonly SKTypeface _bold;

    public PlotCanvas(int width, int height)
    {
        if (width < 1 || height < 1 || (long)width * height > 64_000_000)
            throw new ArgumentOutOfRangeException(nameof(width), $"Picture size {width}×{height} is out of range.");
        Width = width;
        Height = height;
        _surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        Canvas.Clear(SKColors.White);
        _typeface = Typefaces.Find(bold: false);
        _bold = Typefaces.Find(bold: true);
    }

    public int Width { get; }
    public int Height { get; }
    public SKCanvas Canvas => _surface.Canvas;

    /// <summary>Advance width of <paramref name="text"/> at <paramref name="size"/> px.</summary>
    public float Measure(string text, float size, bool bold = false)
    {
        using var font = new SKFont(bold ? _bold : _typeface, size);
        return font.MeasureText(text);
    }

    /// <summary>
    /// Draws <paramref name="text"/> with its baseline at y, aligned on x (0 = left, 0.5 = centre, 1 = right), rotated
    /// by <paramref name="degrees"/> around (x, y).
    /// </summary>
    public void Text(string text, float x, float y, float size, SKColor color, float align = 0, bool bold = false, float degrees = 0)
    {
        using var font = new SKFont(bold ? _bold : _typeface, size);
        using var paint = new SKPaint { Color = color, IsAntialias = true };
        float width = Measure(text, size, bold);
        Canvas.Save();
        Canvas.Translate(x, y);
        if (degrees != 0) Canvas.RotateDegrees(degrees);
        Canvas.DrawText(text, -align * width, 0, font, paint);
        Canvas.Restore();
    }

    /// <summary>Shortens <paramref name="text"/> with an ellipsis until it fits <paramref name="maxWidth"/>.</summary>
    public string Fit(string text, float size, float maxWidth)
    {
        if (Measure(text, size) <= maxWidth) return text;
        for (int length = text.Length - 1; length > 0; length--)
        {
            string candidate = text[..length] + "…";
            if (Measure(candidate, size) <= maxWidth) return candidate;
        }
        return string.Empty;
    }

    /// <summary>Writes the picture as PNG to a temporary file, then moves it into place.</summary>
    public void SavePng(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var image = _surface.Snapshot())
            using (var data = image.Encode(SKEncodedImageFormat.Png, 100))
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
                data.SaveTo(stream);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    public void Dispose()
    {
        _surface.Dispose();
        _typeface.Dispose();
        _bold.Dispose();
    }

}
