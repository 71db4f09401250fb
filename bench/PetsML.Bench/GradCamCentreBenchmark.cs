using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Commands.Shared;

namespace PetsML.Bench;

/// <summary>
/// <c>gradcam-centre</c>: where a trained model's Grad-CAM heat falls on the validation photos of a folder, by a simple
/// proxy for "on the animal": the share of the heat inside the centred square of 25% and of 50% of the view's area,
/// against the 25%/50% a uniform map would give, and how often the peak lies in the central 50%. Pet photos are
/// mostly framed with the animal in the middle; a model that looked at the background or the corners would score at or
/// below the uniform share.
/// </summary>
internal static class GradCamCentreBenchmark
{
    public const string Help = "share of Grad-CAM heat in the central 25%/50% of the view, validation photos --model ZIP --data DIR";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var modelPath = a.String("model") ?? throw new ArgumentException("--model ZIP is required (petsml train --out)");
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required (the folder the model was trained on)");
        var ml = new MLContext(seed: 0);
        using var saved = SavedModel.Load(ml, modelPath);
        if (!ClassifierStep.TrySplit(saved.Model, out var before, out var classifier)) throw new ArgumentException("--model: no PetsML classifier at the end");
        var rows = ml.Data.ValidationRows(before.Transform(ml.Data.LoadImageFiles(data)));
        var labels = rows.GetColumn<uint>(PetsML.Transforms.Pipeline.PetsColumnNames.Label).ToList();
        var started = DateTime.UtcNow;
        var maps = classifier.GradCam(rows).ToList();
        var seconds = (DateTime.UtcNow - started).TotalSeconds;

        var quarter = maps.Select(m => Share(m, Math.Sqrt(0.25))).ToList();
        var half = maps.Select(m => Share(m, Math.Sqrt(0.5))).ToList();
        var peakInHalf = maps.Count(m => PeakInside(m, Math.Sqrt(0.5)));
        var right = Enumerable.Range(0, maps.Count).Where(i => maps[i].ClassIndex + 1 == labels[i]).ToList();
        string P(double x) => x.ToString("0.0%", CultureInfo.InvariantCulture);
        Console.WriteLine($"{maps.Count} validation photos of {data} ({right.Count} predicted right), {maps[0].Width}x{maps[0].Height} views, {seconds / maps.Count:0.00} s a map");
        Console.WriteLine($"heat in the central 25% of the area: mean {P(quarter.Average())}, median {P(Median(quarter))} (uniform 25%); above 25% for {quarter.Count(s => s > 0.25)} of {maps.Count}");
        Console.WriteLine($"heat in the central 50% of the area: mean {P(half.Average())}, median {P(Median(half))} (uniform 50%); above 50% for {half.Count(s => s > 0.5)} of {maps.Count}");
        Console.WriteLine($"peak inside the central 50%: {peakInHalf} of {maps.Count} ({P((double)peakInHalf / maps.Count)}; uniform 50%)");
        if (right.Count < maps.Count)
            Console.WriteLine($"wrong predictions only: central 50% share mean {P(Enumerable.Range(0, maps.Count).Except(right).Average(i => half[i]))} over {maps.Count - right.Count}");
        return 0;
    }

    /// <summary>The share of the map's total inside the centred square whose side is <paramref name="side"/> of the view's.</summary>
    static double Share(GradCamMap map, double side)
    {
        double inside = 0, total = 0;
        for (int y = 0; y < map.Height; y++)
        for (int x = 0; x < map.Width; x++)
        {
            double v = map.Heat[y * map.Width + x];
            total += v;
            if (Inside(map, x, y, side)) inside += v;
        }
        return total > 0 ? inside / total : 0;
    }

    static bool PeakInside(GradCamMap map, double side)
    {
        int peak = Array.IndexOf(map.Heat, map.Heat.Max());
        return Inside(map, peak % map.Width, peak / map.Width, side);
    }

    static bool Inside(GradCamMap map, int x, int y, double side)
    {
        double margin = (1 - side) / 2;
        double u = (x + 0.5) / map.Width, v = (y + 0.5) / map.Height;
        return u >= margin && u < 1 - margin && v >= margin && v < 1 - margin;
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
