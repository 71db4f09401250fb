using System.Globalization;
using PetsML.Host.Commands.Shared;
using PetsML.Trainers.FineTuning;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace PetsML.Host.Visualization;

/// <summary>
/// The reliability diagram of a <see cref="CalibrationReport"/> as a PNG: per confidence bin, the share of photos that were
/// right against their mean confidence, with the plain softmax (before) and the temperature (after), the diagonal a
/// calibrated model lies on, and each expected calibration error in the legend (Guo et al. 2017, figure 1).
/// </summary>
/// <remarks>
/// A point's marker grows with the share of photos in its bin, so a bin of one photo far from the diagonal is seen to
/// weigh little in the ECE. Empty bins have no point. The "after" circles and line are drawn over the bigger "before"
/// squares and wider line, so where the temperature changed nothing (T = 1) both still show.
/// </remarks>
internal static class ReliabilityDiagram
{
    /// <summary>Default picture size, in pixels.</summary>
    public const int DefaultWidth = 640, DefaultHeight = 680;

    public static void Save(CalibrationReport report, string path, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var plot = Charts.New("Reliability diagram", "Confidence (top probability)", "Accuracy (share right)");
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LineColor = Charts.Grey;
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LineWidth = 1.5f;
        diagonal.LegendText = "calibrated (accuracy = confidence)";
        int total = Math.Max(1, report.Plain.Sum(b => b.Count));
        // "Before" wider and bigger than "after", so where the temperature changed nothing (T = 1) it still shows around it.
        AddSeries(plot, report.Plain, total, Charts.Orange, MarkerShape.FilledSquare, lineWidth: 5, extraSize: 5,
            string.Create(CultureInfo.InvariantCulture, $"plain softmax: ECE {report.EcePlain:0.000}"));
        AddSeries(plot, report.Calibrated, total, Charts.Blue, MarkerShape.FilledCircle, lineWidth: 2, extraSize: 0,
            string.Create(CultureInfo.InvariantCulture, $"temperature {report.Temperature:0.###}: ECE {report.EceCalibrated:0.000}"));
        // A little room past 1 so the markers of the fullest bin (at confidence and accuracy near 1) are not cut in half.
        plot.Axes.SetLimits(-0.02, 1.03, -0.02, 1.03);
        plot.Axes.Bottom.TickGenerator = new NumericFixedInterval(0.1);
        plot.Axes.Left.TickGenerator = new NumericFixedInterval(0.1);
        // Below the chart: a well-trained model has points in every corner of the square but the lower left.
        plot.ShowLegend(Edge.Bottom);
        Charts.SavePng(plot, path, width, height);
    }

    static void AddSeries(Plot plot, IReadOnlyList<ReliabilityBin> bins, int total, Color color, MarkerShape shape, float lineWidth, float extraSize, string legend)
    {
        var filled = bins.Where(b => b.Count > 0).ToArray();
        if (filled.Length == 0) return;
        var line = plot.Add.ScatterLine(filled.Select(b => b.MeanConfidence).ToArray(), filled.Select(b => b.Accuracy).ToArray(), color);
        line.LineWidth = lineWidth;
        line.LegendText = legend;
        foreach (var bin in filled)
        {
            // Area, not radius, proportional to the bin's share: 6 px for a lone photo up to 22 px for all of them.
            float size = (float)(6 + 16 * Math.Sqrt((double)bin.Count / total)) + extraSize;
            plot.Add.Marker(bin.MeanConfidence, bin.Accuracy, shape, size, color);
        }
    }
}
