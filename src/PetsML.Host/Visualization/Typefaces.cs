using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>
/// Finds a typeface that really has glyphs, for every picture PetsML draws. The Linux "NoDependencies" Skia
/// build (SkiaSharp 2.88.9) has no fontconfig, so the default typeface can be empty and text would silently
/// vanish; then common font files are tried by path.
/// </summary>
internal static class Typefaces
{
    static readonly string[] Families = { "DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Noto Sans" };

    static readonly string[] RegularFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/System/Library/Fonts/Helvetica.ttc",
        @"C:\Windows\Fonts\arial.ttf",
    ];

    static readonly string[] BoldFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
        @"C:\Windows\Fonts\arialbd.ttf",
    ];

    /// <summary>A sans-serif typeface (the caller disposes it); bold falls back to regular files.</summary>
    public static SKTypeface Find(bool bold = false)
    {
        var style = bold ? SKFontStyle.Bold : SKFontStyle.Normal;
        foreach (var family in Families)
        {
            var match = SKFontManager.Default.MatchFamily(family, style);
            if (match is { GlyphCount: > 0 }) return match;
            match?.Dispose();
        }
        foreach (var file in bold ? BoldFiles.Concat(RegularFiles) : RegularFiles)
        {
            if (!File.Exists(file)) continue;
            var typeface = SKTypeface.FromFile(file);
            if (typeface is { GlyphCount: > 0 }) return typeface;
            typeface?.Dispose();
        }
        return SKTypeface.CreateDefault();
    }
}
