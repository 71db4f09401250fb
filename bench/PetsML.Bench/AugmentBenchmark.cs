using System.Diagnostics;
using System.Globalization;
using PetsML.Transforms.Augmentation;
using PetsML.Host.Visualization;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Bench;

/// <summary>
/// <c>augment</c>: throughput of <see cref="BatchAugmenter"/> on a presized uint8 batch (default 64 images,
/// 460 → 224) with 2 torch threads; the median of several timed runs after warm-up, for Training and
/// Validation. Target: ≥ 250 images/s for Training on 2 cores.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project bench/PetsML.Bench -- augment [--batch 64] [--source 460]
/// [--threads 2] [--runs 9] [--warmup 2] [--demo /tmp/augment-demo.png]</c>. With <c>--demo</c> it also
/// writes a show_batch-style grid of 16 augmented synthetic images (an "F" and an upward arrow over a grid),
/// captioned with each image's draw, to check visually that images are upright, sometimes flipped, a
/// little rotated, zoomed and warped.
/// </remarks>
public static class AugmentBenchmark
{
    public static int Run(string[] args)
    {
        int batch = 64, source = 460, threads = 2, runs = 9, warmup = 2;
        string? demo = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--source": source = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--demo": demo = Next(); break;
                default:
                    Console.Error.WriteLine($"augment: unknown argument '{args[i]}'");
                    return 2;
            }
        }

        torch.set_num_threads(threads);
        var options = new AugmentOptions();
        using var augmenter = new BatchAugmenter(options);
        using var generator = new Generator(2024);

        if (demo is not null)
            WriteDemo(augmenter, generator, demo);

        using var images = SyntheticImages(batch, source, generator);
        var training = Measure(() => augmenter.Training(images, generator), batch, threads, runs, warmup);
        var validation = Measure(() => augmenter.Validation(images), batch, threads, runs, warmup);
        Console.WriteLine($"augment: batch {batch} uint8 {source}x{source} -> float32 {options.Size}x{options.Size}, " +
                          $"{threads} torch threads, median of {runs} runs after {warmup} warm-up");
        Console.WriteLine("  images/s      median wall  mean wall  median from CPU time  mean from CPU time");
        foreach (var (name, r) in new[] { ("Training  ", training), ("Validation", validation) })
            Console.WriteLine($"  {name}  {r.Wall,11:F1}  {r.MeanWall,9:F1}  {r.CpuBound,20:F1}  {r.MeanCpuBound,18:F1}");
        Console.WriteLine("  target: Training >= 250 images/s on 2 cores");
        Console.WriteLine($"  load average at the end: {LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// Median wall-clock images/s over <paramref name="runs"/> calls after <paramref name="warmup"/>, and the
    /// median images/s implied by the process CPU time (batch·threads / CPU seconds): on a machine shared with
    /// other jobs the wall clock includes waiting for a core, the CPU-time figure does not. The means (total
    /// images / total time) are reported too: about one training batch in five has a crop window above
    /// 2·Size and pays for the area pre-downscale, which the median hides.
    /// </summary>
    private static (double Wall, double CpuBound, double MeanWall, double MeanCpuBound) Measure(Func<Tensor> call, int batch, int threads, int runs, int warmup)
    {
        for (int i = 0; i < warmup; i++)
            call().Dispose();
        using var process = Process.GetCurrentProcess();
        var wall = new List<double>();
        var cpu = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            process.Refresh();
            var cpuStart = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            call().Dispose();
            wall.Add(watch.Elapsed.TotalSeconds);
            process.Refresh();
            cpu.Add((process.TotalProcessorTime - cpuStart).TotalSeconds);
        }
        double meanWall = batch * runs / wall.Sum(), meanCpu = batch * threads * runs / cpu.Sum();
        wall.Sort();
        cpu.Sort();
        return (batch / wall[runs / 2], batch * threads / cpu[runs / 2], meanWall, meanCpu);
    }

    /// <summary>/proc/loadavg, so a benchmark prints how busy the machine was beside its figures.</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    /// <summary>
    /// uint8 N×3×S×S images: a colour gradient with grid lines every S/10 px, a dark "F" (mirror-asymmetric)
    /// on the left and an upward arrow on the right, so flips, rotations and warps are easy to see.
    /// </summary>
    private static Tensor SyntheticImages(int count, int size, Generator generator)
    {
        using var scope = NewDisposeScope();
        var rows = arange(size, dtype: float32).view(size, 1).expand(size, size) / size;
        var cols = arange(size, dtype: float32).view(1, size).expand(size, size) / size;
        var tint = rand([count, 3, 1, 1], generator: generator) * 0.4f + 0.4f;
        var background = tint * stack([cols, 1 - rows, 0.5f + 0.5f * rows]).unsqueeze(0);

        var gridLines = (((rows * 10) - (rows * 10).floor()) < 0.02f) | (((cols * 10) - (cols * 10).floor()) < 0.02f);
        bool In(float a, float b, Tensor t, out Tensor mask) { mask = (t >= a) & (t < b); return true; }
        In(0.26f, 0.37f, cols, out var fStemCols); In(0.20f, 0.80f, rows, out var fStemRows);
        In(0.26f, 0.72f, cols, out var fTopCols); In(0.20f, 0.30f, rows, out var fTopRows);
        In(0.26f, 0.61f, cols, out var fMidCols); In(0.44f, 0.53f, rows, out var fMidRows);
        var letterF = (fStemCols & fStemRows) | (fTopCols & fTopRows) | (fMidCols & fMidRows);
        In(0.79f, 0.85f, cols, out var shaftCols); In(0.42f, 0.82f, rows, out var shaftRows);
        var head = (rows >= 0.20f) & (rows < 0.42f) & ((cols - 0.82f).abs() <= (rows - 0.20f) * 0.6f);
        var arrow = (shaftCols & shaftRows) | head;

        var image = background.clone();
        image.masked_fill_(gridLines.unsqueeze(0).unsqueeze(0).expand_as(image), 0.15f);
        image.masked_fill_(letterF.unsqueeze(0).unsqueeze(0).expand_as(image), 0.05f);
        var white = arrow.unsqueeze(0).unsqueeze(0).expand_as(image);
        image.masked_fill_(white, 0.97f);
        return (image * 255).round_().to_type(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    private static void WriteDemo(BatchAugmenter augmenter, Generator generator, string path)
    {
        using var scope = NewDisposeScope();
        const int count = 16, source = 460;
        var images = SyntheticImages(count, source, generator);
        var draw = AugmentationDraw.Sample(augmenter.Options, count, source, source, generator);
        var output = augmenter.Training(images, draw);
        var captions = Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"{(draw.FlipSign[i] < 0 ? "flip " : "")}r{draw.RotationDegrees[i]:+0.0;-0.0;0} z{draw.Zoom[i]:0.00} " +
            $"w{draw.WarpX[i]:+0.00;-0.00;0},{draw.WarpY[i]:+0.00;-0.00;0}")).ToArray();
        BatchGrid.SavePng(output, augmenter.Options.Normalization, captions, path, columns: 4, maxImages: count);
        Console.WriteLine($"augment: wrote {path} (crop window {draw.Crop})");
    }
}
