using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Pipeline;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// Writes the validation path of the first N images of a folder: the presized bytes (decode + centre crop + antialiased resize, 3×S×S uint8) to FILE
/// and AugmentImages' normalised floats (3×Size×Size float32) to FILE.features, in file-name order, so bench/compare_presize.py can set them beside Pillow's (the reference's item path).
/// With --train-draws K it also augments those N images as one training batch K times, with K seeded draws: the draws'
/// parameters to FILE.draws.json and the normalised outputs (K×N×3×Size×Size float32) to FILE.train, so
/// bench/compare_augment.py can run the reference's training augmentation with the same parameters.
/// </summary>
internal static class PresizeDump
{
    public const string Help = "presized bytes and normalised validation floats of the first N images: --data DIR [--count 20] [--presize 460] [--size 224] [--train-draws K] --out FILE";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        var output = a.String("out") ?? throw new ArgumentException("--out FILE is required");
        int count = a.Int("count", 20), presize = a.Int("presize", 460), size = a.Int("size", 224);
        var ml = new MLContext(seed: 0);
        // The first N files by name, chosen before anything is decoded; rows are written as they come.
        ml.Data.LoadImageFiles(data, out var listing);
        var chosen = listing.Files.OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).Take(count)
            .Select(f => new ImageFileRow { ImagePath = f }).ToList();
        var files = ml.Data.LoadFromEnumerable(chosen);
        var presized = ml.Transforms.Presize(new PresizeOptions { Size = presize })
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = size })).Fit(files).Transform(files);
        int draws = a.Int("train-draws", 0);
        var kept = new List<byte[]>(); // for --train-draws only
        using (var file = File.Create(output))
        using (var names = new StreamWriter(output + ".txt"))
        using (var normalised = new BinaryWriter(File.Create(output + ".features")))
        using (var cursor = presized.GetRowCursor(presized.Schema))
        {
            var path = cursor.GetGetter<ReadOnlyMemory<char>>(presized.Schema[PetsColumnNames.ImagePath]);
            var image = cursor.GetGetter<VBuffer<byte>>(presized.Schema[PetsColumnNames.Image]);
            var feature = cursor.GetGetter<VBuffer<float>>(presized.Schema[PetsColumnNames.Features]);
            ReadOnlyMemory<char> p = default;
            VBuffer<byte> v = default;
            VBuffer<float> f = default;
            while (cursor.MoveNext())
            {
                path(ref p);
                image(ref v);
                feature(ref f);
                names.WriteLine(Path.GetFileName(p.ToString()));
                file.Write(v.GetValues());
                foreach (var x in f.GetValues()) normalised.Write(x);
                if (draws > 0) kept.Add(v.DenseValues().ToArray());
            }
        }
        if (draws > 0)
            WriteTrainingDraws(output, [.. kept], presize, size, draws);
        return 0;
    }

    private static void WriteTrainingDraws(string output, byte[][] images, int presize, int size, int draws)
    {
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(images.SelectMany(b => b).ToArray(), [images.Length, 3, presize, presize]);
        var options = new AugmentOptions { Size = size };
        using var augmenter = new BatchAugmenter(options);
        var parameters = new List<object>();
        using var train = new BinaryWriter(File.Create(output + ".train"));
        for (int k = 0; k < draws; k++)
        {
            using var generator = new torch.Generator((ulong)k);
            var draw = AugmentationDraw.Sample(options, images.Length, presize, presize, generator);
            parameters.Add(DrawDump.Parameters(draw));
            using var augmented = augmenter.Training(batch, draw);
            foreach (var x in augmented.data<float>()) train.Write(x);
        }
        File.WriteAllText(output + ".draws.json", System.Text.Json.JsonSerializer.Serialize(parameters));
    }
}
