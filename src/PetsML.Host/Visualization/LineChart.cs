using System.Globalization;
using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>A line chart with linear or log-10 x axis, a linear y axis, markers and a legend: what the lr_find and loss plots need.</summary>
internal sealed class LineChart
{
    public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, SKColor Color);
    public sealed record Marker(string Name, double X, double Y, SKColor Color);

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public bool LogX { get; init; }
    public List<Series> Lines { get; } = [];
    public List<Marker> Markers { get; } = [];

    const float Left = 80, Right = 24, Top = 48, Bottom = 64;
    const float TickFont = 13, LabelFont = 15, TitleFont = 17;

    public void Save(string path, int width, int height)
    {
        using var plot = new PlotCanvas(width, height);
        var canvas = plot.Canvas;
        float x0 = Left, x1 = width - Right, y0 = height - Bottom, y1 = Top;

        double Tx(double x) => LogX ? Math.Log10(x) : x;
        var xs = Lines.SelectMany(s => s.X).Concat(Markers.Select(m => m.X)).Where(v => double.IsFinite(v) && (!LogX || v > 0)).Select(Tx).ToList();
        var ys = Lines.SelectMany(s => s.Y).Concat(Markers.Select(m => m.Y)).Where(double.IsFinite).ToList();
        if (xs.Count == 0 || ys.Count == 0) throw new InvalidOperationException("Nothing to plot: no finite points.");
        double xMin = xs.Min(), xMax = xs.Max(), yMin = ys.Min(), yMax = ys.Max();
        if (xMax - xMin < 1e-12) { xMin -= 0.5; xMax += 0.5; }
        if (yMax - yMin < 1e-12) { yMin -= 0.5; yMax += 0.5; }
        double yPad = (yMax - yMin) * 0.05;
        yMin -= yPad; yMax += yPad;
        float Px(double x) => (float)(x0 + (Tx(x) - xMin) / (xMax - xMin) * (x1 - x0));
        float Py(double y) => (float)(y0 - (y - yMin) / (yMax - yMin) * (y0 - y1));

        using var grid = new SKPaint { Color = new SKColor(225, 225, 225), StrokeWidth = 1, IsAntialias = true };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.2f, IsAntialias = true, Style = SKPaintStyle.Stroke };
        var ink = new SKColor(40, 40, 40);

        // y ticks (linear, 1-2-5 steps)
        foreach (var t in NiceTicks(yMin, yMax, 6))
        {
            float py = Py(t);
            canvas.DrawLine(x0, py, x1, py, grid);
            plot.Text(FormatNumber(t), x0 - 6, py + TickFont * 0.35f, TickFont, ink, align: 1);
        }
        // x ticks: powers of ten on a log axis
        var xTicks = LogX ? Enumerable.Range((int)Math.Ceiling(xMin), Math.Max(0, (int)Math.Floor(xMax) - (int)Math.Ceiling(xMin) + 1)).Select(e => (double)e).ToList()
                          : NiceTicks(xMin, xMax, 8);
        foreach (var t in xTicks)
        {
            float px = (float)(x0 + (t - xMin) / (xMax - xMin) * (x1 - x0));
            canvas.DrawLine(px, y0, px, y1, grid);
            string label = LogX ? $"1e{(int)t}" : FormatNumber(t);
            plot.Text(label, px, y0 + TickFont + 6, TickFont, ink, align: 0.5f);
        }
        canvas.DrawRect(x0, y1, x1 - x0, y0 - y1, axis);

        canvas.Save();
        canvas.ClipRect(new SKRect(x0, y1, x1, y0));
        foreach (var s in Lines)
        {
            using var pen = new SKPaint { Color = s.Color, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var line = new SKPath();
            bool started = false;
            for (int i = 0; i < s.X.Count; i++)
            {
                if (!double.IsFinite(s.Y[i]) || !double.IsFinite(s.X[i]) || (LogX && s.X[i] <= 0)) { started = false; continue; }
                if (!started) { line.MoveTo(Px(s.X[i]), Py(s.Y[i])); started = true; }
                else line.LineTo(Px(s.X[i]), Py(s.Y[i]));
            }
            if (s.X.Count == 1 || s.X.Count(double.IsFinite) == 1)
            {
                using var dot = new SKPaint { Color = s.Color, IsAntialias = true };
                for (int i = 0; i < s.X.Count; i++) if (double.IsFinite(s.Y[i])) canvas.DrawCircle(Px(s.X[i]), Py(s.Y[i]), 4, dot);
            }
            canvas.DrawPath(line, pen);
        }
        foreach (var m in Markers)
        {
            if (!double.IsFinite(m.X) || !double.IsFinite(m.Y)) continue;
            using var fill = new SKPaint { Color = m.Color, IsAntialias = true };
            using var rim = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1.5f };
            canvas.DrawCircle(Px(m.X), Py(m.Y), 6, fill);
            canvas.DrawCircle(Px(m.X), Py(m.Y), 6, rim);
        }
        canvas.Restore();

        plot.Text(Title, width / 2f, Top - 18, TitleFont, SKColors.Black, align: 0.5f, bold: true);
        plot.Text(XLabel, (x0 + x1) / 2, height - 14, LabelFont, SKColors.Black, align: 0.5f);
        plot.Text(YLabel, 22, (y0 + y1) / 2, LabelFont, SKColors.Black, align: 0.5f, degrees: -90);

        // Legend, top right inside the plot area.
        var entries = Lines.Select(l => (l.Name, l.Color, Line: true)).Concat(Markers.Select(m => (m.Name, m.Color, Line: false))).Where(e => e.Name.Length > 0).ToList();
        if (entries.Count > 0)
        {
            float legendWidth = entries.Max(e => plot.Measure(e.Name, TickFont)) + 44, rowHeight = TickFont + 8;
            float lx = x1 - legendWidth - 8, ly = y1 + 8;
            using var box = new SKPaint { Color = new SKColor(255, 255, 255, 230) };
            using var boxRim = new SKPaint { Color = new SKColor(190, 190, 190), Style = SKPaintStyle.Stroke };
            canvas.DrawRect(lx, ly, legendWidth, rowHeight * entries.Count + 8, box);
            canvas.DrawRect(lx, ly, legendWidth, rowHeight * entries.Count + 8, boxRim);
            for (int i = 0; i < entries.Count; i++)
            {
                float cy = ly + 4 + rowHeight * i + rowHeight / 2;
                using var paint = new SKPaint { Color = entries[i].Color, IsAntialias = true, StrokeWidth = 2.5f };
                if (entries[i].Line) canvas.DrawLine(lx + 8, cy, lx + 30, cy, paint);
                else canvas.DrawCircle(lx + 19, cy, 6, paint);
                plot.Text(entries[i].Name, lx + 36, cy + TickFont * 0.35f, TickFont, ink);
            }
        }
        plot.SavePng(path);
    }

    internal static List<double> NiceTicks(double min, double max, int target)
    {
        double raw = (max - min) / Math.Max(1, target);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        var ticks = new List<double>();
        for (double t = Math.Ceiling(min / step) * step; t <= max + step * 1e-9; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks;
    }

    static string FormatNumber(double v) => Math.Abs(v) is >= 1e4 or (< 1e-3 and > 0)
        ? v.ToString("0.#e+0", CultureInfo.InvariantCulture)
        : v.ToString("0.###", CultureInfo.InvariantCulture);
}
