using System.Diagnostics;
using System.Numerics;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Presizing;
using SkiaSharp;

namespace PetsML.Bench;

/// <summary>
/// Single-threaded throughput of the item pipeline's CPU part: JPEG decode, presize (crop 460, Pillow
/// bilinear), and both together, in images per second on one core. Target: decode+presize of a 500×375
/// JPEG at ≥ 150 images/s.
/// </summary>
internal static class DecodePresizeBenchmark
{
    public const string Help = "decode + presize images/s on one thread [--images DIR] [--count N] [--seconds S] [--size 460]";

    public static int Run(string[] args)
    {
        string? folder = null;
        int count = 64, size = PresizeOptions.Defaults.Size;
        double seconds = 3;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--images": folder = Next(); break;
                case "--count": count = int.Parse(Next()); break;
                case "--seconds": seconds = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                case "--size": size = int.Parse(Next()); break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}\n{Help}");
                    return 2;
            }
        }

        List<(string Name, byte[] Bytes)> files = folder is null ? Generate(count) : Load(folder, count);
        var options = new PresizeOptions { Size = size };
        Console.WriteLine($"images: {files.Count} {(folder is null ? "generated 500×375 JPEGs, quality 90" : "from " + folder)}, " +
            $"mean {files.Average(f => f.Bytes.Length) / 1024:F1} KiB; presize {size}×{size} crop; " +
            $"one thread; Vector<byte> {Vector<byte>.Count} bytes; {Environment.ProcessorCount} cores visible");

        RgbImage[] decoded = files.Select(f => ImageDecoder.Decode(f.Bytes, f.Name)).ToArray();
        Console.WriteLine($"decoded sizes: {string.Join(", ", decoded.Select(d => $"{d.Width}×{d.Height}").Distinct().Take(5))}");
        var destination = new byte[options.OutputLength];
        var random = new Random(42);

        var rows = new List<(string Stage, (double Wall, double Cpu) PerSecond)>
        {
            ("decode", Measure(files.Count, seconds, i => ImageDecoder.Decode(files[i].Bytes, files[i].Name))),
            ("presize", Measure(files.Count, seconds, i => Presizer.Presize(decoded[i], options, random.NextDouble(), random.NextDouble(), destination))),
            ("decode+presize", Measure(files.Count, seconds, i =>
                Presizer.Presize(ImageDecoder.Decode(files[i].Bytes, files[i].Name), options, random.NextDouble(), random.NextDouble(), destination))),
        };

        Console.WriteLine();
        // Wall-clock rates drop when other processes share the cores; the CPU-time rate (images per second
        // of this process's CPU time) is the per-core throughput and does not.
        Console.WriteLine($"{"stage",-16} {"images/s wall",14} {"images/s CPU",13} {"ms CPU/image",12}");
        foreach (var (stage, (wall, cpu)) in rows)
        {
            Console.WriteLine($"{stage,-16} {wall,14:F1} {cpu,13:F1} {1000 / cpu,12:F2}");
        }

        double combined = rows[^1].PerSecond.Cpu;
        Console.WriteLine();
        Console.WriteLine($"target decode+presize ≥ 150 images/s per core: {(combined >= 150 ? "met" : "NOT met")} ({combined:F1})");
        return 0;
    }

    /// <summary>Runs <paramref name="work"/> over the items round-robin, once to warm up, then for at least <paramref name="seconds"/>.</summary>
    private static (double Wall, double Cpu) Measure(int items, double seconds, Action<int> work)
    {
        for (int i = 0; i < items; i++)
        {
            work(i);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        TimeSpan cpuStart = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long done = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < items; i++)
            {
                work(i);
            }

            done += items;
        }

        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds;
        return (done / wall, done / cpu);
    }

    private static List<(string, byte[])> Load(string folder, int count) =>
        ImageFileListing.List(folder).Files.Take(count).Select(p => (p, File.ReadAllBytes(p))).ToList();

    /// <summary>
    /// Photo-like 500×375 pictures: smooth gradients, a few soft blobs and sensor-like noise, so the JPEG
    /// has the entropy (about 30–60 KiB at quality 90) of a real pet photo rather than of flat colour.
    /// </summary>
    private static List<(string, byte[])> Generate(int count)
    {
        const int width = 500, height = 375;
        var random = new Random(7);
        var result = new List<(string, byte[])>();
        for (int n = 0; n < count; n++)
        {
            var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
            using var bitmap = new SKBitmap(info);
            var pixels = new byte[info.BytesSize];
            var blobs = Enumerable.Range(0, 6).Select(_ => (X: random.Next(width), Y: random.Next(height), R: 20 + random.Next(120),
                C: (random.Next(256), random.Next(256), random.Next(256)))).ToArray();
            double fx = 0.005 + random.NextDouble() * 0.02, fy = 0.005 + random.NextDouble() * 0.02;
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    double r = 110 + 70 * Math.Sin(x * fx + n), g = 100 + 60 * Math.Cos(y * fy), b = 90 + 50 * Math.Sin((x - y) * fx);
                    foreach (var blob in blobs)
                    {
                        double d2 = ((x - blob.X) * (x - blob.X) + (y - blob.Y) * (y - blob.Y)) / (double)(blob.R * blob.R);
                        double k = Math.Exp(-d2);
                        r += k * (blob.C.Item1 - r);
                        g += k * (blob.C.Item2 - g);
                        b += k * (blob.C.Item3 - b);
                    }

                    int noise = random.Next(-10, 11);
                    int i = 4 * (y * width + x);
                    pixels[i] = Clamp(r + noise + 6 * Math.Sin(x * 1.3 + y * 0.7));
                    pixels[i + 1] = Clamp(g + noise);
                    pixels[i + 2] = Clamp(b + noise);
                    pixels[i + 3] = 255;
                }
            }

            System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
            using SKData data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            result.Add(($"generated_{n}.jpg", data.ToArray()));
        }

        return result;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)v, 0, 255);
}
