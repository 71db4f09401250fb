using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;

namespace PetsML.Bench;

/// <summary>
/// Runs the data side of the pipeline over a folder and says what it found: images listed and decoded (by
/// their real format, whatever the extension), classes, training and validation counts.
/// </summary>
internal static class DataSetCheck
{
    public const string Help = "list, decode, label and split a folder: --data DIR [--valid-pct 0.2] [--split-seed 42] [--label-regex RE]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var folder = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(folder, out var listing);
        var formats = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var presize = new PresizeOptions();
        foreach (var path in listing.Files)
        {
            var bytes = File.ReadAllBytes(path);
            var image = ImageDecoder.Decode(bytes, path);
            _ = Presizer.Presize(image, presize, 0.5, 0.5);
            var format = ImageSignature.Name(ImageSignature.Detect(bytes));
            formats[format] = formats.GetValueOrDefault(format) + 1;
            if (!path.EndsWith("." + format, StringComparison.OrdinalIgnoreCase) && !(format == "JPEG" && path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)))
                Console.WriteLine($"  {Path.GetFileName(path)} is really {format}");
        }
        var output = ml.Transforms.LabelFromFileName(pattern: a.String("label-regex", @"(.+)_\d+.jpg$")!)
            .Append(ml.Transforms.RandomSplit(validPct: a.Double("valid-pct", 0.2), seed: a.Int("split-seed", 42)))
            .Fit(data).Transform(data);
        var split = output.GetColumn<float>(PetsColumnNames.IsValidation).ToArray();
        VBuffer<ReadOnlyMemory<char>> names = default;
        output.Schema[PetsColumnNames.Label].GetKeyValues(ref names);
        Console.WriteLine($"{listing.Files.Count} images decoded ({string.Join(", ", formats.Select(f => $"{f.Value} {f.Key}"))}); " +
                          $"{listing.SkippedNonImage.Count} skipped non-image, {listing.IgnoredFileCount} other files ignored");
        Console.WriteLine($"{names.Length} classes: {string.Join(", ", names.DenseValues())}");
        Console.WriteLine($"{split.Count(s => s == 0)} training, {split.Count(s => s == 1)} validation images");
        var firstValidation = PetsML.RandomSplitEstimator.ValidationIndices(listing.Files.Count, a.Double("valid-pct", 0.2), a.Int("split-seed", 42)).Take(8);
        Console.WriteLine($"first validation indices (permutation order): {string.Join(", ", firstValidation)}");
        return 0;
    }
}
