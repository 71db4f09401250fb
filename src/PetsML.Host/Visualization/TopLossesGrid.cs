using System.Globalization;
using PetsML.Host.Interpretation;
using PetsML.Transforms.Augmentation;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Host.Visualization;

/// <summary>
/// fastai's <c>plot_top_losses(k)</c> as a PNG: a grid of the images with the highest losses under the title
/// "Prediction/Actual/Loss/Probability", each captioned <c>predicted/actual</c> and <c>loss / probability</c> (2 decimals;
/// the probability is the predicted class's). Wrong predictions are captioned in red. With heat maps, each image has its
/// Grad-CAM overlay for the predicted class beside it (where the network found the evidence for what it said).
/// </summary>
internal static class TopLossesGrid
{
    const float CaptionFont = 13, TitleFont = 18;
    const int Margin = 6, CaptionHeight = 40, TitleHeight = 40;

    /// <param name="normalisedImages">N×3×H×W images as the model saw them, normalised with <paramref name="stats"/>.</param>
    /// <param name="stats">The normalisation statistics.</param>
    /// <param name="items">One <see cref="TopLoss"/> per image, in the same order.</param>
    /// <param name="path">The PNG to write.</param>
    /// <param name="columns">Images per row. Default 3, as fastai's 9-image grid.</param>
    /// <param name="heatmaps">Optional: one Grad-CAM map per image, in the same order, of the same size, drawn beside it.</param>
    public static void Save(Tensor normalisedImages, NormalizationStats stats, IReadOnlyList<TopLoss> items, string path, int columns = 3,
        IReadOnlyList<GradCamMap>? heatmaps = null)
    {
        ArgumentNullException.ThrowIfNull(normalisedImages);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(items);
        if (normalisedImages.dim() != 4 || normalisedImages.shape[1] != 3)
            throw new ArgumentException($"Images must be N×3×H×W; got [{string.Join(", ", normalisedImages.shape)}].", nameof(normalisedImages));
        if (items.Count != normalisedImages.shape[0] || items.Count == 0)
            throw new ArgumentException($"One item per image is needed (at least one): {normalisedImages.shape[0]} images, {items.Count} items.", nameof(items));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "At least one column.");

        int n = items.Count, h = (int)normalisedImages.shape[2], w = (int)normalisedImages.shape[3];
        if (heatmaps is not null && (heatmaps.Count != n || heatmaps.Any(m => m.Width != w || m.Height != h)))
            throw new ArgumentException($"One {w}x{h} heat map per image is needed.", nameof(heatmaps));
        int cols = Math.Min(columns, n), rows = (n + cols - 1) / cols;
        int pictureW = heatmaps is null ? w : 2 * w + Margin;
        int cellW = Math.Max(pictureW, 180) + 2 * Margin, cellH = h + CaptionHeight + 2 * Margin;
        using var plot = new PlotCanvas(cols * cellW, TitleHeight + rows * cellH);
        plot.Text("Prediction/Actual/Loss/Probability", plot.Width / 2f, 27, TitleFont, SKColors.Black, align: 0.5f, bold: true);

        byte[] rgba;
        using (var scope = NewDisposeScope())
        {
            var x = normalisedImages.to(float32, CPU);
            var mean = tensor(stats.Mean, [1, 3, 1, 1], float32);
            var std = tensor(stats.Std, [1, 3, 1, 1], float32);
            var pixels = (x * std + mean).clamp_(0, 1).mul_(255).round_().to_type(ScalarType.Byte);
            var alpha = full([n, 1, h, w], 255, ScalarType.Byte);
            rgba = cat([pixels, alpha], dim: 1).permute(0, 2, 3, 1).contiguous().data<byte>().ToArray();
        }
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int i = 0; i < n; i++)
        {
            float cx = (i % cols) * cellW, cy = TitleHeight + (i / cols) * cellH;
            float ix = cx + (cellW - pictureW) / 2f, iy = cy + Margin;
            using (var image = SKImage.FromPixelCopy(info, rgba.AsSpan(i * w * h * 4, w * h * 4), w * 4))
                plot.Canvas.DrawImage(image, ix, iy);
            if (heatmaps is not null)
                using (var overlay = SKImage.FromPixelCopy(info, heatmaps[i].OverlayRgba(), w * 4))
                    plot.Canvas.DrawImage(overlay, ix + w + Margin, iy);
            var item = items[i];
            var ink = item.Predicted == item.Actual ? new SKColor(20, 20, 20) : new SKColor(190, 20, 20);
            float textWidth = cellW - 2 * Margin;
            plot.Text(plot.Fit($"{item.Predicted}/{item.Actual}", CaptionFont, textWidth), cx + cellW / 2f, iy + h + 16, CaptionFont, ink, align: 0.5f);
            plot.Text(string.Create(CultureInfo.InvariantCulture, $"{item.Loss:0.00} / {item.Probability:0.00}"), cx + cellW / 2f, iy + h + 33, CaptionFont, ink, align: 0.5f);
        }
        plot.SavePng(path);
    }
}
