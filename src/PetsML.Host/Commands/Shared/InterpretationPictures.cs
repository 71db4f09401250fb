using Microsoft.ML;
using PetsML.Host.Interpretation;
using PetsML.Host.Visualization;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// Writes the interpretation pictures of a scored folder: confusion_matrix.png and top_losses.png, each top loss with its
/// Grad-CAM heat map (predicted class) beside it; and reliability.png, the reliability diagram before and after the temperature.
/// </summary>
public static class InterpretationPictures
{
    public const string ConfusionMatrixFile = "confusion_matrix.png";
    public const string TopLossesFile = "top_losses.png";
    public const string ReliabilityFile = "reliability.png";

    /// <summary>Draws the reliability diagram of <paramref name="calibration"/> into <paramref name="folder"/>; returns its path.</summary>
    internal static string WriteReliability(CalibrationReport calibration, string folder)
    {
        var path = Path.Combine(folder, ReliabilityFile);
        ReliabilityDiagram.Save(calibration, path);
        return path;
    }

    /// <summary>Draws both pictures into <paramref name="folder"/>; returns the top losses shown.</summary>
    internal static IReadOnlyList<TopLoss> Write(MLContext mlContext, ITransformer model, ScoredFolder scored, string folder, int k)
    {
        Directory.CreateDirectory(folder);
        var interpretation = scored.Interpretation;
        ConfusionMatrixPlot.Save(interpretation.ConfusionMatrix(), interpretation.ClassNames, Path.Combine(folder, ConfusionMatrixFile));
        var top = interpretation.TopLosses(k);
        if (top.Count > 0 && top.All(t => t.ItemName is not null))
        {
            var paths = top.Select(t => t.ItemName!).ToList();
            var heatmaps = Heatmaps.OfFiles(mlContext, model, paths);
            var (images, stats) = scored.FeaturesOf(mlContext, model, paths);
            using (images) TopLossesGrid.Save(images, stats, top, Path.Combine(folder, TopLossesFile), heatmaps: heatmaps);
        }
        return top;
    }
}
