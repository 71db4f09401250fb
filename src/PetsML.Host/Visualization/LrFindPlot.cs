using System.Globalization;
using PetsML.Trainers.LrFinding;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace PetsML.Host.Visualization;

/// <summary>fastai's <c>lr_find()</c> plot as a PNG: smoothed loss against learning rate (log axis) with the four suggestions marked.</summary>
internal static class LrFindPlot
{
    /// <summary>Default picture size, in pixels.</summary>
    public const int DefaultWidth = 800, DefaultHeight = 500;

    /// <summary>
    /// Draws the curve fastai plots (the first point and the last five dropped, as <c>skip_end=5</c>) and marks valley,
    /// minimum/10, steep and slide at their learning rates on the curve. The x axis is log10 of the learning rate, labelled
    /// with powers of ten and minor ticks at 2..9 of each decade.
    /// </summary>
    public static void Save(LrFindResult result, string path, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(result);
        int end = Math.Max(2, result.LearningRates.Length - 5);
        var points = result.LearningRates.Take(end).Zip(result.Losses.Take(end))
            .Where(p => p.First > 0 && double.IsFinite(p.First) && double.IsFinite(p.Second)).ToArray();
        if (points.Length == 0) throw new ArgumentException("The finder recorded no finite loss at a positive learning rate.", nameof(result));
        var lrs = points.Select(p => p.First).ToArray();
        var losses = points.Select(p => p.Second).ToArray();

        using var plot = Charts.New("Learning rate finder", "Learning rate (log scale)", "Loss (smoothed)");
        var curve = plot.Add.ScatterLine(lrs.Select(Math.Log10).ToArray(), losses, Charts.Blue);
        curve.LegendText = "loss";
        curve.LineWidth = 2;
        void Mark(string name, double lr, Color color)
        {
            if (!double.IsFinite(lr) || lr <= 0) return;
            var marker = plot.Add.Marker(Math.Log10(lr), LossAt(lrs, losses, lr), MarkerShape.FilledCircle, 11, color);
            marker.LegendText = string.Create(CultureInfo.InvariantCulture, $"{name} {lr:0.##e+0}");
        }
        Mark("valley", result.Valley, Charts.Red);
        Mark("minimum/10", result.Minimum, Charts.Orange);
        Mark("steep", result.Steep, Charts.Green);
        Mark("slide", result.Slide, Charts.Purple);
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new LogMinorTickGenerator(),
            LabelFormatter = e => string.Create(CultureInfo.InvariantCulture, $"1e{e:0}"),
        };
        plot.ShowLegend(Alignment.UpperLeft);
        Charts.SavePng(plot, path, width, height);
    }

    /// <summary>The loss at <paramref name="lr"/>, interpolated in log-lr between recorded points.</summary>
    static double LossAt(double[] lrs, double[] losses, double lr)
    {
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
