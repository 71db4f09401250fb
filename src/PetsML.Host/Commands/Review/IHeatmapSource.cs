namespace PetsML.Host.Commands.Review;

/// <summary>
/// Where the review page's heatmap of a photo comes from (a Grad-CAM overlay, say): PNG bytes, or null when there is
/// none for that photo. The page shows a heatmap slot only when the source is not <see cref="NoHeatmaps"/>.
/// </summary>
internal interface IHeatmapSource
{
    /// <param name="imagePath">The photo's full path (under the data folder).</param>
    /// <param name="predictedClass">The class the model predicted for it, as an index into the model's classes.</param>
    byte[]? HeatmapPng(string imagePath, int predictedClass);
}

/// <summary>The default: no heatmaps, and the page hides their slot.</summary>
internal sealed class NoHeatmaps : IHeatmapSource
{
    public static readonly NoHeatmaps Instance = new();
    public byte[]? HeatmapPng(string imagePath, int predictedClass) => null;
}
