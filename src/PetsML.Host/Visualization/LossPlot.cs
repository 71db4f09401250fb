using PetsML.Trainers.Training;
using SkiaSharp;

namespace PetsML.Host.Visualization;

/// <summary>fastai's <c>recorder.plot_loss()</c> as a PNG: smoothed training loss per iteration, validation loss at each epoch end.</summary>
internal static class LossPlot
{
    /// <summary>Default picture size, in pixels.</summary>
    public const int DefaultWidth = 800, DefaultHeight = 500;

    /// <param name="smoothedLosses">The recorder's smoothed training loss at every batch of a fit.</param>
    /// <param name="epochs">That fit's epoch rows (the validation loss is drawn at each epoch's last batch).</param>
    /// <param name="path">The PNG to write.</param>
    /// <param name="skipStart">Batches left out at the start (fastai: 5), when there are enough of them.</param>
    /// <param name="width">Picture width.</param>
    /// <param name="height">Picture height.</param>
    public static void Save(IReadOnlyList<double> smoothedLosses, IReadOnlyList<EpochRecord> epochs, string path, int skipStart = 5,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentNullException.ThrowIfNull(smoothedLosses);
        ArgumentNullException.ThrowIfNull(epochs);
        if (smoothedLosses.Count == 0) throw new ArgumentException("No training batches were recorded.", nameof(smoothedLosses));
        int skip = smoothedLosses.Count > 2 * skipStart ? skipStart : 0;
        var chart = new LineChart { Title = "Loss", XLabel = "Iteration (batch)", YLabel = "Loss" };
        chart.Lines.Add(new LineChart.Series("train (smoothed)", Enumerable.Range(skip + 1, smoothedLosses.Count - skip).Select(i => (double)i).ToArray(),
            smoothedLosses.Skip(skip).ToArray(), new SKColor(31, 119, 180)));
        var valid = epochs.Select((e, i) => (X: (double)smoothedLosses.Count * (i + 1) / epochs.Count, Y: e.ValidLoss)).Where(p => p.Y is not null).ToList();
        if (valid.Count > 0)
            chart.Lines.Add(new LineChart.Series("valid", valid.Select(p => p.X).ToArray(), valid.Select(p => p.Y!.Value).ToArray(), new SKColor(255, 127, 14)));
        chart.Save(path, width, height);
    }
}
