using PetsML.Trainers.Training;

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
        var train = Finite(Enumerable.Range(skip + 1, smoothedLosses.Count - skip).Select(i => (X: (double)i, Y: smoothedLosses[i - 1])));
        if (train.Count == 0) throw new ArgumentException("Every recorded training loss is NaN or infinite.", nameof(smoothedLosses));
        var valid = Finite(epochs.Select((e, i) => (X: (double)smoothedLosses.Count * (i + 1) / epochs.Count, Y: e.ValidLoss ?? double.NaN)));

        using var plot = Charts.New("Loss", "Iteration (batch)", "Loss");
        var trainLine = plot.Add.ScatterLine(train.Select(p => p.X).ToArray(), train.Select(p => p.Y).ToArray(), Charts.Blue);
        trainLine.LegendText = "train (smoothed)";
        trainLine.LineWidth = 2;
        if (valid.Count > 0)
        {
            // One epoch gives one validation point: a marker shows it where a line of one point would not.
            var validLine = plot.Add.Scatter(valid.Select(p => p.X).ToArray(), valid.Select(p => p.Y).ToArray(), Charts.Orange);
            validLine.LegendText = "valid";
            validLine.LineWidth = 2;
            validLine.MarkerSize = 7;
        }
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        Charts.SavePng(plot, path, width, height);
    }

    static List<(double X, double Y)> Finite(IEnumerable<(double X, double Y)> points) => points.Where(p => double.IsFinite(p.Y)).ToList();
}
