using Microsoft.ML;
using PetsML.Host.Commands.Shared;

namespace PetsML.Host.Commands.Review;

/// <summary>
/// The review page's heatmaps: Grad-CAM of the predicted class through the saved model (<see cref="Heatmaps.OfFiles"/>),
/// made when the page first asks for a photo's and kept, at most <see cref="MaxKept"/> of them, so memory stays bounded on a
/// large folder. One at a time: the classifier runs one forward pass at a time anyway.
/// </summary>
internal sealed class GradCamHeatmaps(MLContext mlContext, ITransformer model) : IHeatmapSource
{
    /// <summary>Overlays kept in memory (a 224-pixel PNG is tens of KB).</summary>
    public const int MaxKept = 1024;

    readonly Dictionary<string, byte[]?> _kept = new(StringComparer.Ordinal);
    readonly object _gate = new();

    public byte[]? HeatmapPng(string imagePath, int predictedClass)
    {
        lock (_gate)
        {
            if (_kept.TryGetValue(imagePath, out var png)) return png;
            try { png = Heatmaps.OfFiles(mlContext, model, [imagePath], predictedClass)[0].ToPng(); }
            // A photo that cannot be read any more (moved by an apply, unreadable) simply has no heatmap.
            catch (Exception e) when (e is IOException or InvalidDataException or ImageDecodeException or InvalidOperationException) { png = null; }
            if (_kept.Count >= MaxKept) _kept.Clear();
            _kept[imagePath] = png;
            return png;
        }
    }
}
