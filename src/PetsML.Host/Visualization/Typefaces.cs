using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>
/// Finds a typeface that really has glyphs, for every picture PetsML draws. The Linux "NoDependencies" Skia
/// build (SkiaSharp 3.119.4) has no fontconfig: it only scans the font folder, so the default typeface can be empty
/// and text would silently vanish; then common font files are tried by path. ScottPlot 5.1.59 picks its default
/// font by the same scan and can pick a serif one (DejaVu Serif on Debian 12), so the charts are told which
/// sans-serif font to use (<see cref="ChartFont"/>).
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

    /// <summary>
    /// The font name for ScottPlot charts: the first of <see cref="Families"/> the font manager has, else a regular and a
    /// bold font file registered with ScottPlot under <see cref="RegisteredFont"/> (once per process), else ScottPlot's own choice.
    /// </summary>
    public static string ChartFont => s_chartFont.Value;

    /// <summary>The name under which a font file found by path is registered with ScottPlot.</summary>
    const string RegisteredFont = "PetsML Sans";

    static readonly Lazy<string> s_chartFont = new(FindChartFont);

    static string FindChartFont()
    {
        foreach (var family in Families)
        {
            using var match = SKFontManager.Default.MatchFamily(family, SKFontStyle.Normal);
            if (match is { GlyphCount: > 0 } && match.FamilyName == family) return family;
        }
        var regular = RegularFiles.FirstOrDefault(HasGlyphs);
        if (regular is null) return ScottPlot.Fonts.Default;
        ScottPlot.Fonts.AddFontFile(RegisteredFont, regular, bold: false, italic: false);
        ScottPlot.Fonts.AddFontFile(RegisteredFont, BoldFiles.FirstOrDefault(HasGlyphs) ?? regular, bold: true, italic: false);
        return RegisteredFont;
    }

    static bool HasGlyphs(string file)
    {
        if (!File.Exists(file)) return false;
        using var typeface = SKTypeface.FromFile(file);
        return typeface is { GlyphCount: > 0 };
    }
}
