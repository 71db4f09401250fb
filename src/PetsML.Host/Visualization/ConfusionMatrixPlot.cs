using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;
using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>
/// fastai's <c>plot_confusion_matrix()</c> as a PNG (ScottPlot): rows actual, columns predicted, counts in the cells, a
/// white-to-blue scale, white text on cells above half the maximum, predicted labels rotated 90°. The picture grows with
/// the class count (square cells of at least <see cref="MinCell"/> px), so the 37 Oxford-IIIT Pet breeds stay readable.
/// </summary>
/// <remarks>
/// The cells are rectangles rather than ScottPlot's heatmap, whose cells are placed by its own alignment rules; the
/// layout is fixed in pixels (<see cref="Measure"/>) because ScottPlot sizes an axis by its unrotated tick labels.
/// </remarks>
internal static class ConfusionMatrixPlot
{
    /// <summary>Smallest cell side, in pixels.</summary>
    public const int MinCell = 30;

    const float LabelFont = 13, CellFont = 12;

    /// <summary>Returns the picture's (width, height) in pixels for this matrix, without drawing it.</summary>
    public static (int Width, int Height) Measure(int[,] counts, IReadOnlyList<string> classNames, bool normalize = false)
    {
        var l = Layout(counts, classNames, normalize);
        return (l.Width, l.Height);
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
        if (c == 0 || counts.GetLength(0) != c || counts.GetLength(1) != c)
            throw new ArgumentException($"The matrix is {counts.GetLength(0)}×{counts.GetLength(1)}; {c} class names.", nameof(counts));

        var l = Layout(counts, classNames, normalize);
        var values = Values(counts, normalize);
        double max = Math.Max(values.Cast<double>().Max(), 1e-12);
        using var plot = Charts.New(title, "Predicted", "Actual");
        // Actual class a is row a from the top: y = c − 1 − a.
        for (int a = 0; a < c; a++)
        for (int p = 0; p < c; p++)
        {
            double t = values[a, p] / max;
            var cell = plot.Add.Rectangle(p - 0.5, p + 0.5, c - 1.5 - a, c - 0.5 - a);
            cell.FillColor = Blues(t);
            cell.LineColor = Color.FromHex("#c8c8c8");
            cell.LineWidth = 1;
            // With many classes the zeros are left out, so the confusions stand out.
            if (!normalize && counts[a, p] == 0 && c > 12) continue;
            var text = plot.Add.Text(normalize ? values[a, p].ToString("0.00", CultureInfo.InvariantCulture) : counts[a, p].ToString(CultureInfo.InvariantCulture), p, c - 1 - a);
            text.LabelAlignment = Alignment.MiddleCenter;
            text.LabelFontSize = CellFont;
            text.LabelFontName = Typefaces.ChartFont;
            text.LabelFontColor = t > 0.5 ? Colors.White : Color.FromHex("#1e1e1e");
        }
        NumericManual bottom = new(), left = new();
        for (int i = 0; i < c; i++)
        {
            bottom.AddMajor(i, classNames[i]);
            left.AddMajor(c - 1 - i, classNames[i]);
        }
        plot.Axes.Bottom.TickGenerator = bottom;
        plot.Axes.Left.TickGenerator = left;
        plot.Axes.Bottom.TickLabelStyle.FontSize = LabelFont;
        plot.Axes.Left.TickLabelStyle.FontSize = LabelFont;
        plot.Axes.Bottom.TickLabelStyle.Rotation = -90;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.SetLimits(-0.5, c - 0.5, -0.5, c - 0.5);
        plot.Grid.IsVisible = false;
        plot.Layout.Fixed(new PixelPadding(l.Left, l.Right, l.Bottom, l.Top));
        // ScottPlot places the axis label under the unrotated height of the tick labels: move it under the rotated ones.
        plot.Axes.Bottom.Label.OffsetY = l.LongestLabel - LabelFont;
        Charts.SavePng(plot, path, l.Width, l.Height);
    }

    sealed record Geometry(int Width, int Height, int Left, int Right, int Bottom, int Top, float LongestLabel);

    static Geometry Layout(int[,] counts, IReadOnlyList<string> classNames, bool normalize)
    {
        int c = classNames.Count;
        // ScottPlot caches its typefaces: this one is not disposed here.
        using var label = new SKFont(Fonts.GetTypeface(Typefaces.ChartFont, bold: false, italic: false), LabelFont);
        using var value = new SKFont(label.Typeface, CellFont);
        float longestLabel = classNames.Select(n => label.MeasureText(n)).DefaultIfEmpty(0).Max();
        float widestValue = normalize ? value.MeasureText("0.00")
            : Enumerable.Range(0, c * c).Select(i => value.MeasureText(counts[i / c, i % c].ToString(CultureInfo.InvariantCulture))).DefaultIfEmpty(0).Max();
        // Few classes get bigger cells (a 3-class matrix should not be a stamp); many get at least MinCell.
        int cell = (int)Math.Ceiling(Math.Max(Math.Max(MinCell, Math.Min(80, 360f / Math.Max(1, c))), widestValue + 10));
        int left = (int)Math.Ceiling(longestLabel) + 50, right = 30, top = 45, bottom = (int)Math.Ceiling(longestLabel) + 50;
        return new Geometry(Math.Max(left + c * cell + right, 300), top + c * cell + bottom, left, Math.Max(right, 300 - left - c * cell), bottom, top, longestLabel);
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
    static Color Blues(double t)
    {
        t = Math.Clamp(double.IsFinite(t) ? t : 0, 0, 1);
        (double r, double g, double b) lo = (247, 251, 255), mid = (107, 174, 214), hi = (8, 48, 107);
        var (from, to, u) = t < 0.5 ? (lo, mid, t * 2) : (mid, hi, (t - 0.5) * 2);
        byte Mix(double x, double y) => (byte)Math.Round(x + (y - x) * u);
        return new Color(Mix(from.r, to.r), Mix(from.g, to.g), Mix(from.b, to.b));
    }
}
