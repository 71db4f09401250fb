using System.Globalization;
using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>
/// fastai's <c>plot_confusion_matrix()</c> as a PNG: rows actual, columns predicted, counts in the cells, a white-to-blue
/// scale, white text on cells above half the maximum, predicted labels rotated 90°. The picture grows with the class
/// count (cells at least <see cref="MinCell"/> px), so the 37 Oxford-IIIT Pet breeds stay readable.
/// </summary>
internal static class ConfusionMatrixPlot
{
    /// <summary>Smallest cell side, in pixels.</summary>
    public const int MinCell = 30;

    const float LabelFont = 13, CellFont = 12, TitleFont = 18, AxisFont = 15;

    /// <summary>Returns the picture's (width, height) in pixels for this matrix, without drawing it.</summary>
    public static (int Width, int Height) Measure(int[,] counts, IReadOnlyList<string> classNames, bool normalize = false)
    {
        using var plot = new PlotCanvas(1, 1);
        var layout = Layout(plot, counts, classNames, normalize);
        return (layout.Width, layout.Height);
    }

    /// <param name="counts">cm[actual, predicted] (ClassificationInterpretation.ConfusionMatrix()).</param>
    /// <param name="classNames">Class names in index order.</param>
    /// <param name="path">The PNG to write.</param>
    /// <param name="normalize">Divide each row by its sum (fastai's normalize=True), shown with 2 decimals.</param>
    /// <param name="title">The title. Default "Confusion matrix".</param>
    public static void Save(int[,] counts, IReadOnlyList<string> classNames, string path, bool normalize = false, string title = "Confusion matrix")
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(classNames);
        int c = classNames.Count;
        if (counts.GetLength(0) != c || counts.GetLength(1) != c)
            throw new ArgumentException($"The matrix is {counts.GetLength(0)}×{counts.GetLength(1)}; {c} class names.", nameof(counts));

        using var measure = new PlotCanvas(1, 1);
        var l = Layout(measure, counts, classNames, normalize, title);
        using var plot = new PlotCanvas(l.Width, l.Height);
        var canvas = plot.Canvas;
        var values = Values(counts, normalize);
        double max = Math.Max(values.Cast<double>().DefaultIfEmpty(0).Max(), 1e-12);

        for (int a = 0; a < c; a++)
        for (int p = 0; p < c; p++)
        {
            double v = values[a, p];
            float x = l.Left + p * l.Cell, y = l.Top + a * l.Cell;
            using var fill = new SKPaint { Color = Blues(v / max) };
            canvas.DrawRect(x, y, l.Cell, l.Cell, fill);
            string text = normalize ? v.ToString("0.00", CultureInfo.InvariantCulture) : counts[a, p].ToString(CultureInfo.InvariantCulture);
            var ink = v > max / 2 ? SKColors.White : new SKColor(30, 30, 30);
            if (normalize || counts[a, p] != 0 || c <= 12)
                plot.Text(text, x + l.Cell / 2f, y + l.Cell / 2f + CellFont * 0.36f, CellFont, ink, align: 0.5f);
        }
        using var grid = new SKPaint { Color = new SKColor(200, 200, 200), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        for (int i = 0; i <= c; i++)
        {
            canvas.DrawLine(l.Left, l.Top + i * l.Cell, l.Left + c * l.Cell, l.Top + i * l.Cell, grid);
            canvas.DrawLine(l.Left + i * l.Cell, l.Top, l.Left + i * l.Cell, l.Top + c * l.Cell, grid);
        }
        var black = SKColors.Black;
        for (int i = 0; i < c; i++)
        {
            // Actual classes on the left, right-aligned; predicted classes under the matrix, rotated to read bottom-up.
            plot.Text(classNames[i], l.Left - 6, l.Top + i * l.Cell + l.Cell / 2f + LabelFont * 0.36f, LabelFont, black, align: 1);
            plot.Text(classNames[i], l.Left + i * l.Cell + l.Cell / 2f + LabelFont * 0.36f, l.Top + c * l.Cell + 6, LabelFont, black, align: 1, degrees: -90);
        }
        float matrixMid = l.Left + c * l.Cell / 2f;
        plot.Text(title, l.Width / 2f, 28, TitleFont, black, align: 0.5f, bold: true);
        plot.Text("Predicted", matrixMid, l.Height - 12, AxisFont, black, align: 0.5f, bold: true);
        plot.Text("Actual", 20, l.Top + c * l.Cell / 2f, AxisFont, black, align: 0.5f, bold: true, degrees: -90);
        plot.SavePng(path);
    }

    sealed record Geometry(int Width, int Height, float Left, float Top, int Cell);

    static Geometry Layout(PlotCanvas plot, int[,] counts, IReadOnlyList<string> classNames, bool normalize, string title = "Confusion matrix")
    {
        int c = classNames.Count;
        float longestLabel = classNames.Select(n => plot.Measure(n, LabelFont)).DefaultIfEmpty(0).Max();
        float widestValue = normalize ? plot.Measure("0.00", CellFont)
            : Enumerable.Range(0, c * c).Select(i => plot.Measure(counts[i / c, i % c].ToString(CultureInfo.InvariantCulture), CellFont)).DefaultIfEmpty(0).Max();
        // Few classes get bigger cells (a 3-class matrix should not be a stamp); many get at least MinCell.
        int cell = (int)Math.Ceiling(Math.Max(Math.Max(MinCell, Math.Min(80, 360f / Math.Max(1, c))), widestValue + 10));
        float left = 40 + longestLabel + 10, top = 50;
        float titleWidth = plot.Measure(title, TitleFont, bold: true);
        int width = (int)Math.Ceiling(Math.Max(left + c * cell + 20, titleWidth + 40));
        int height = (int)Math.Ceiling(top + c * cell + 6 + longestLabel + 44);
        return new Geometry(width, height, left, top, cell);
    }

    static double[,] Values(int[,] counts, bool normalize)
    {
        int c = counts.GetLength(0);
        var v = new double[c, c];
        for (int a = 0; a < c; a++)
        {
            double sum = 0;
            for (int p = 0; p < c; p++) sum += counts[a, p];
            for (int p = 0; p < c; p++) v[a, p] = normalize ? (sum > 0 ? counts[a, p] / sum : 0) : counts[a, p];
        }
        return v;
    }

    /// <summary>Matplotlib's "Blues" end points, interpolated: white-ish at 0, dark blue at 1.</summary>
    static SKColor Blues(double t)
    {
        t = Math.Clamp(double.IsFinite(t) ? t : 0, 0, 1);
        (double r, double g, double b) lo = (247, 251, 255), mid = (107, 174, 214), hi = (8, 48, 107);
        var (from, to, u) = t < 0.5 ? (lo, mid, t * 2) : (mid, hi, (t - 0.5) * 2);
        byte Mix(double x, double y) => (byte)Math.Round(x + (y - x) * u);
        return new SKColor(Mix(from.r, to.r), Mix(from.g, to.g), Mix(from.b, to.b));
    }
}
