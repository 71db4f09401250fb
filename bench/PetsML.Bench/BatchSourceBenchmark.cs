using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// The whole batch source on its own (list, decode, presize 460 with a random crop, augment to 224,
/// normalise) over a folder's images: images/s and CPU seconds per image, first epoch (decoding) and
/// later epochs (decoded images cached). Compare the CPU time with the training step's.
/// </summary>
internal static class BatchSourceBenchmark
{
    public const string Help = "batch source alone: --data DIR [--bs 32] [--size 224] [--presize 460] [--epochs 3] [--threads 2] [--overlap]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args, "overlap");
        var folder = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        int bs = a.Int("bs", 32), size = a.Int("size", 224), presize = a.Int("presize", 460), epochs = a.Int("epochs", 3);
        int threads = a.Int("threads", 2);
        torch.set_num_threads(threads);
        var ml = new MLContext();
        var files = ml.Data.LoadImageFiles(folder, out var listing);
        var items = listing.Files.Select((f, i) => new LabeledImage(ImageSource.FromFile(f), i % 3)).ToList();
        var presizer = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = presize }, new ImageDecodeOptions());
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = size });
        var source = new ImageBatchSource(items, presizer, augmenter, training: true, new BatchSourceOptions
        {
            BatchSize = bs, DecodeThreads = threads, Preparation = a.Flag("overlap") ? BatchPreparation.Overlap : BatchPreparation.Alternate,
        });
        var process = Process.GetCurrentProcess();
        var rows = new List<object>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            foreach (var batch in source.GetBatches(epoch)) batch.Dispose();
            watch.Stop();
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            rows.Add(new { epoch, images_per_s = source.ItemCount / watch.Elapsed.TotalSeconds, cpu_ms_per_image = 1000 * cpu / source.ItemCount });
            Console.Error.WriteLine($"epoch {epoch}: {source.ItemCount / watch.Elapsed.TotalSeconds:F1} images/s, {1000 * cpu / source.ItemCount:F1} ms CPU per image");
        }
        Console.WriteLine(JsonSerializer.Serialize(new { bs, size, presize, threads, images = source.ItemCount, epochs = rows }));
        return 0;
    }
}
