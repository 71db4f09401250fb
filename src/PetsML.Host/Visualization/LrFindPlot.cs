using System.Globalization;
using PetsML.Trainers.LrFinding;
using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>fastai's <c>lr_find()</c> plot as a PNG: smoothed loss against learning rate (log axis) with the four suggestions marked.</summary>
internal static class LrFindPlot
{
    /// <summary>Default picture size, in pixels.</summary>
    public const int DefaultWidth = 800, DefaultHeight = 500;

    /// <summary>
    /// Draws the curve fastai plots (the first point and the last five dropped, as <c>skip_end=5</c>) and marks valley,
    /// minimum/10, steep and slide at their learning rates on the curve.
    /// </summary>
    public static void Save(LrFindResult result, string path, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(result);
        int end = Math.Max(2, result.LearningRates.Length - 5);
        var lrs = result.LearningRates.Take(end).ToArray();
        var losses = result.Losses.Take(end).ToArray();
        var chart = new LineChart { Title = "Learning rate finder", XLabel = "Learning rate (log scale)", YLabel = "Loss (smoothed)", LogX = true };
        chart.Lines.Add(new LineChart.Series("loss", lrs, losses, new SKColor(31, 119, 180)));
        void Mark(string name, double lr, SKColor color) => chart.Markers.Add(new LineChart.Marker(
            string.Create(CultureInfo.InvariantCulture, $"{name} {lr:0.##e+0}"), lr, LossAt(lrs, losses, lr), color));
        Mark("valley", result.Valley, new SKColor(214, 39, 40));
        Mark("minimum/10", result.Minimum, new SKColor(255, 127, 14));
        Mark("steep", result.Steep, new SKColor(44, 160, 44));
        Mark("slide", result.Slide, new SKColor(148, 103, 189));
        chart.Save(path, width, height);
    }

    /// <summary>The loss at <paramref name="lr"/>, interpolated in log-lr between recorded points.</summary>
    static double LossAt(double[] lrs, double[] losses, double lr)
    {
        if (!double.IsFinite(lr) || lr <= 0 || lrs.Length == 0) return double.NaN;
        for (int i = 1; i < lrs.Length; i++)
        {
            if (lrs[i] < lr) continue;
            double a = Math.Log(lrs[i - 1]), b = Math.Log(lrs[i]);
            double t = b > a ? (Math.Log(lr) - a) / (b - a) : 0;
            return losses[i - 1] + Math.Clamp(t, 0, 1) * (losses[i] - losses[i - 1]);
        }
        return losses[^1];
    }
}
