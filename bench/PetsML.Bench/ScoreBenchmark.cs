using System.Diagnostics;
using System.Globalization;
using PetsML.Onnx.Export;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Host.Scoring;
using PetsML.Onnx.Scoring;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using SkiaSharp;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// <c>score</c>: images/s of <see cref="BatchScorer"/> over the same folder through TorchSharp fp32, TorchSharp bf16 and
/// ONNX Runtime on the exported file, next to the raw network forward (fp32, bf16) on a pre-made batch, interleaved round
/// by round. The packaged ResNet-18 with a 37-class head at 224 (460 presize), the first --images files of --data.
/// <c>score-rss</c>: peak RSS (VmHWM) of a scoring run in a fresh process over synthetic folders of small JPEGs
/// (2,000 and 20,000 by default), with a small network so the run is about streaming, not compute.
/// </summary>
internal static class ScoreBenchmark
{
    public const string Help = "score images/s: TorchSharp fp32/bf16 and ONNX Runtime vs raw forward --data DIR [--images 64] [--batch 32] [--rounds 2]";
    public const string RssHelp = "peak RSS of scoring synthetic folders in fresh processes [--counts 2000,20000] [--engine onnx|torch] [--batch 32]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required (a folder of .jpg photos)");
        int images = a.Int("images", 64), batch = a.Int("batch", 32), rounds = a.Int("rounds", 2);
        var work = Path.Combine(Path.GetTempPath(), $"petsml-bench-score-{Guid.NewGuid():N}");
        var folder = Path.Combine(work, "images");
        Directory.CreateDirectory(folder);
        try
        {
            // The same images for every engine: links to the first files of --data.
            foreach (var file in Directory.EnumerateFiles(data).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).Take(images))
                File.CreateSymbolicLink(Path.Combine(folder, Path.GetFileName(file)), file);
            images = Directory.GetFiles(folder).Length;
            if (images == 0) throw new DirectoryNotFoundException($"--data: no .jpg files in '{data}'.");

            var classes = Enumerable.Range(0, 37).Select(i => $"class{i}").ToArray();
            using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, classes.Length, seed: 42, pretrained: true);
            var stats = NormalizationStats.ImageNet;
            var (scale, shift) = ImageClassifier.RenormalizationFor(stats.Mean, stats.Std, model.ModelStatistics.Mean, model.ModelStatistics.Std);
            model.SetInputRenormalization(scale, shift);
            using var fp32 = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet18Packaged, classes, "Features", 224, "cpu", null, ownsModel: false) { InferenceChannelsLast = true };
            using var bf16 = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet18Packaged, classes, "Features", 224, "cpu", null, ownsModel: false) { InferenceChannelsLast = true };
            bf16.InferencePrecision = TrainingPrecision.Bf16Mixed;
            var preprocessing = OnnxPreprocessing.Default;
            var export = OnnxExporter.Export(fp32, preprocessing, Path.Combine(work, "model.onnx"));
            Console.WriteLine($"ResNet-18 (packaged) + head, 37 classes, 224 px; {images} images of {data}; batch {batch}; {torch.get_num_threads()} torch threads; " +
                              $"ONNX file {export.Bytes / 1e6:0.0} MB; load average before the run {AugmentBenchmark.LoadAverage()}");

            using var torchFp32 = new TorchBatchClassifier(fp32, preprocessing);
            using var torchBf16 = new TorchBatchClassifier(bf16, preprocessing);
            using var onnx = new OnnxBatchClassifier(export.Path);
            var engines = new (string Name, Func<double> Measure)[]
            {
                ("raw forward fp32", () => RawForward(fp32, batch)),
                ("raw forward bf16", () => RawForward(bf16, batch)),
                ("score torchsharp fp32", () => Score(torchFp32, folder, work, batch)),
                ("score torchsharp bf16", () => Score(torchBf16, folder, work, batch)),
                ("score onnxruntime", () => Score(onnx, folder, work, batch)),
            };
            var results = engines.ToDictionary(e => e.Name, _ => new List<double>());
            for (int round = 1; round <= rounds; round++)
                foreach (var (name, measure) in engines)
                {
                    var rate = measure();
                    results[name].Add(rate);
                    Console.WriteLine($"round {round}  {name,-24} {rate,8:F1} images/s");
                }
            Console.WriteLine();
            var baseline = Median(results["raw forward fp32"]);
            Console.WriteLine($"{"engine",-24} {"images/s",9} {"x raw fp32",10}   (medians over rounds)");
            foreach (var (name, _) in engines)
                Console.WriteLine($"{name,-24} {Median(results[name]),9:F1} {Median(results[name]) / baseline,10:F2}");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The network alone on a pre-made normalised batch (one warm-up, then three timed batches).</summary>
    private static double RawForward(ImageClassifierTransformer classifier, int batch)
    {
        using var x = torch.randn(batch, 3, 224, 224, generator: new torch.Generator(1));
        classifier.PredictProbabilities(x);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) classifier.PredictProbabilities(x);
        return 3 * batch / watch.Elapsed.TotalSeconds;
    }

    /// <summary>A whole <see cref="BatchScorer.ScoreFolder"/> run into a fresh CSV: decode, presize, resize, network, write.</summary>
    private static double Score(IImageBatchClassifier classifier, string folder, string work, int batch)
    {
        var csv = Path.Combine(work, $"{Guid.NewGuid():N}.csv");
        var result = BatchScorer.ScoreFolder(classifier, folder, csv, new BatchScoreOptions { BatchSize = batch });
        File.Delete(csv);
        return result.ImagesPerSecond;
    }

    public static int RunRss(string[] args)
    {
        var a = new BenchArgs(args, "child");
        var engine = a.String("engine", "onnx")!;
        int batch = a.Int("batch", 32);
        if (a.Flag("child")) return Child(a.Int("files", 2000), engine, batch);

        var counts = a.String("counts", "2000,20000")!.Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        Console.WriteLine($"peak RSS of scoring synthetic folders ({engine}, ResNet-18 at 32 px from 48 px presize, 64x48 JPEGs, batch {batch}); machine shared (noisy)");
        Console.WriteLine($"{"files",8} {"rows",8} {"images/s",9} {"VmHWM MB",9}");
        foreach (var count in counts)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
            foreach (var arg in new[] { Environment.GetCommandLineArgs()[0], "score-rss", "--child", "--files", count.ToString(CultureInfo.InvariantCulture), "--engine", engine, "--batch", batch.ToString(CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(arg);
            if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) is false) start.ArgumentList.RemoveAt(0);
            using var process = Process.Start(start)!;
            var line = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            Console.WriteLine(line);
        }
        return 0;
    }

    private static int Child(int files, string engine, int batch)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"petsml-bench-rss-{files}");
        MakeFolder(folder, files);
        var work = Path.Combine(Path.GetTempPath(), $"petsml-bench-rss-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var classes = Enumerable.Range(0, 3).Select(i => $"class{i}").ToArray();
            using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18, classes.Length, seed: 1, pretrained: false);
            using var transformer = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet18, classes, "Features", 32, "cpu", null, ownsModel: false);
            var preprocessing = new OnnxPreprocessing(new PresizeOptions { Size = 48 }, 32, NormalizationStats.ImageNet);
            IImageBatchClassifier classifier = engine == "torch"
                ? new TorchBatchClassifier(transformer, preprocessing)
                : new OnnxBatchClassifier(OnnxExporter.Export(transformer, preprocessing, Path.Combine(work, "model.onnx")).Path);
            using (classifier)
            {
                var result = BatchScorer.ScoreFolder(classifier, folder, Path.Combine(work, "predictions.csv"), new BatchScoreOptions { BatchSize = batch });
                var hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                var kb = long.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                Console.WriteLine($"{files,8} {result.Written,8} {result.ImagesPerSecond,9:F1} {kb / 1024.0,9:F0}");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Small JPEGs in 100 sub-folders, made once per count and kept in the temp folder for later runs.</summary>
    private static void MakeFolder(string folder, int files)
    {
        var done = Path.Combine(folder, ".complete");
        if (File.Exists(done)) return;
        var random = new Random(files);
        using var bitmap = new SKBitmap(64, 48);
        for (int i = 0; i < files; i++)
        {
            var sub = Path.Combine(folder, $"d{i % 100:D2}");
            Directory.CreateDirectory(sub);
            using (var canvas = new SKCanvas(bitmap))
            {
                canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)) };
                canvas.DrawCircle(random.Next(64), random.Next(48), random.Next(5, 20), paint);
            }
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 85);
            using var stream = File.Create(Path.Combine(sub, $"img{i:D6}.jpg"));
            data.SaveTo(stream);
        }
        File.WriteAllText(done, "");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
