using PetsML.Transforms.Augmentation;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// Only the random parameters of training augmentation, many batches of them, for bench/compare_draws.py to set beside
/// the reference's own draws (issue 28: the random parts that the pixel and step checks hold fixed). Batch b is drawn
/// from a generator seeded b, as presize-dump's draws are.
/// </summary>
internal static class DrawDump
{
    public const string Help = "augmentation draws only: [--images 64] [--batches 500] [--presize 460] [--size 224] --out FILE.json";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var output = a.String("out") ?? throw new ArgumentException("--out FILE.json is required");
        int images = a.Int("images", 64), batches = a.Int("batches", 500), presize = a.Int("presize", 460);
        var options = new AugmentOptions { Size = a.Int("size", 224) };
        var parameters = new List<object>();
        for (int b = 0; b < batches; b++)
        {
            using var generator = new torch.Generator((ulong)b);
            var draw = AugmentationDraw.Sample(options, images, presize, presize, generator);
            parameters.Add(Parameters(draw));
        }
        File.WriteAllText(output, System.Text.Json.JsonSerializer.Serialize(parameters));
        Console.WriteLine($"{batches} batches of {images} draws to {output}");
        return 0;
    }

    /// <summary>A draw's parameters under the names bench/compare_augment.py and bench/compare_draws.py read.</summary>
    internal static object Parameters(AugmentationDraw draw) => new
    {
        flip = draw.FlipSign, degrees = draw.RotationDegrees, zoom = draw.Zoom, cx = draw.ZoomCenterX, cy = draw.ZoomCenterY,
        xt = draw.WarpX, yt = draw.WarpY, brightness = draw.Brightness, contrast = draw.Contrast,
        crop = new[] { draw.Crop.Top, draw.Crop.Left, draw.Crop.Height, draw.Crop.Width },
    };
}
