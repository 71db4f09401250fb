using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;
using SkiaSharp;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// Does memory grow with the data set? Writes a synthetic set of small JPEGs (once, into --dir), then runs one
/// training epoch of the batch source over the first --images of them (decode, presize with a random crop,
/// augment, normalise: every batch the trainer would get) and reports the process's peak resident memory
/// (VmHWM) and what the decoded-image cache holds. Run it once per set size, in separate processes; the model's
/// forward/backward pass is left out on purpose: its memory does not depend on the number of images.
/// </summary>
internal static class DataSetMemoryBenchmark
{
    public const string Help = "peak RSS of one batch-source epoch over N synthetic JPEGs: --dir DIR [--images 20000] [--width 160] [--height 120] [--size 64] [--presize 80] [--bs 64] [--budget-mb 512|unbounded] [--threads 2]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var dir = a.String("dir") ?? throw new ArgumentException("--dir DIR is required (the synthetic images are written there once)");
        int count = a.Int("images", 20000), width = a.Int("width", 160), height = a.Int("height", 120);
        int size = a.Int("size", 64), presize = a.Int("presize", 80), bs = a.Int("bs", 64), threads = a.Int("threads", 2);
        var budgetArg = a.String("budget-mb", "512")!;
        long budget = budgetArg == "unbounded" ? long.MaxValue : long.Parse(budgetArg, CultureInfo.InvariantCulture) << 20;
        torch.set_num_threads(threads);

        var files = WriteImages(dir, count, width, height);
        var startRss = Rss();
        var items = files.Select((f, i) => new LabeledImage(ImageSource.FromFile(f), i % 3)).ToList();
        var presizer = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = presize }, new ImageDecodeOptions());
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = size });
        var source = new ImageBatchSource(items, presizer, augmenter, training: true, new BatchSourceOptions
        {
            BatchSize = bs, DecodeThreads = threads, DecodedCacheBytes = budget,
        });
        var watch = Stopwatch.StartNew();
        int batches = 0;
        double checksum = 0;
        foreach (var batch in source.GetBatches(0))
        {
            using (batch)
            {
                checksum += batch.Images[0, 0, 0, 0].item<float>(); // use the batch, so nothing is optimised away
                batches++;
            }
        }
        var result = new
        {
            images = count, width, height, size, presize, bs, batches, budget_mb = budgetArg,
            seconds = watch.Elapsed.TotalSeconds,
            cached_mb = source.CachedBytes / (1 << 20),
            rss_after_writing_mb = startRss / 1024,
            peak_rss_mb = Status("VmHWM") / 1024,
            checksum,
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>Writes (or reuses) images 0..count-1 of three colour classes, varied so JPEG sizes are realistic for their pixels.</summary>
    static List<string> WriteImages(string dir, int count, int width, int height)
    {
        Directory.CreateDirectory(dir);
        var files = Enumerable.Range(0, count).Select(i => Path.Combine(dir, $"class{i % 3}_{i}.jpg")).ToList();
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            if (File.Exists(files[i])) return;
            var random = new Random(i);
            using var bitmap = new SKBitmap(width, height);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                using var paint = new SKPaint { Color = new SKColor(i % 3 == 0 ? (byte)220 : (byte)30, i % 3 == 1 ? (byte)220 : (byte)30, i % 3 == 2 ? (byte)220 : (byte)30) };
                canvas.DrawCircle(random.Next(width), random.Next(height), 10 + random.Next(Math.Min(width, height) / 2), paint);
            }
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
            var temporary = files[i] + ".part";
            File.WriteAllBytes(temporary, data.ToArray());
            File.Move(temporary, files[i], overwrite: true);
        });
        return files;
    }

    static long Rss() => Status("VmRSS");

    /// <summary>A line of /proc/self/status in KiB (VmHWM: the peak resident set size).</summary>
    static long Status(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return -1;
    }
}
