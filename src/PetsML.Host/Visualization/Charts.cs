using ScottPlot;

namespace PetsML.Host.Visualization;

/// <summary>
/// What PetsML's ScottPlot charts share: a plot with the sans-serif font that <see cref="Typefaces"/> found, matplotlib's
/// default colours (fastai's plots are matplotlib's), and an atomic PNG writer.
/// </summary>
/// <remarks>Checked against ScottPlot 5.1.59 on SkiaSharp 3.119.4.</remarks>
internal static class Charts
{
    public static readonly Color Blue = Color.FromHex("#1f77b4"), Orange = Color.FromHex("#ff7f0e"), Green = Color.FromHex("#2ca02c"),
        Red = Color.FromHex("#d62728"), Purple = Color.FromHex("#9467bd"), Grey = Color.FromHex("#7f7f7f");

    /// <summary>A plot (the caller disposes it) with its title, axis labels and every text in <see cref="Typefaces.ChartFont"/>.</summary>
    public static Plot New(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(Typefaces.ChartFont);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    /// <summary>Renders <paramref name="plot"/> as a PNG to a temporary file in the destination folder, then moves it into place.</summary>
    public static void SavePng(Plot plot, string path, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // The same bound as the image grids (PlotCanvas): a confusion matrix of a few hundred classes still fits.
        if (width < 100 || height < 100 || (long)width * height > 64_000_000)
            throw new ArgumentOutOfRangeException(nameof(width), $"Chart size {width}×{height} is out of range (at least 100×100, at most 64 million pixels).");
        var bytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
