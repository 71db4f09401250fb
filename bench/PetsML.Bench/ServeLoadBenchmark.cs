using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace PetsML.Bench;

/// <summary>
/// Issue 27: a load generator in its own process against <c>petsml serve</c> on 127.0.0.1. For each client count, every
/// client posts photos back to back for a bounded time and count; prints requests/s, p50/p95/p99 latency of the good
/// requests, errors, the server's peak RSS (VmHWM of --server-pid) and the load average. Optionally a share of bad uploads
/// (truncated photo, text, 30 MB, a 20,000 x 20,000 PNG header) and a model swap (the file moved into place) mid-run.
/// <c>serve-ceiling</c> is the raw batched forward pass of the same model, in-process, for the same photos.
/// </summary>
internal static class ServeLoadBenchmark
{
    public const string Help = "load on petsml serve: --url URL --photos DIR [--clients 1,2,4,8,16,32] [--seconds 10] [--max-requests 400] [--bad 0.1] [--swap-target FILE --swap-from FILE] [--server-pid PID] [--label NAME]";
    public const string CeilingHelp = "raw batched forward pass (Transform, 32 rows a pass): --model FILE --photos DIR [--images 64] [--rounds 2] [--forward-only]";

    public static int Run(string[] argv)
    {
        var args = new BenchArgs(argv);
        var url = new Uri(args.String("url") ?? throw new ArgumentException("--url is required"));
        var photos = Photos(args.String("photos") ?? throw new ArgumentException("--photos is required"));
        var clientCounts = (args.String("clients") ?? "1,2,4,8,16,32").Split(',').Select(int.Parse).ToArray();
        double seconds = args.Double("seconds", 10);
        int maxRequests = args.Int("max-requests", 400);
        double badShare = args.Double("bad", 0);
        string? swapTarget = args.String("swap-target"), swapFrom = args.String("swap-from");
        int serverPid = args.Int("server-pid", 0);
        var label = args.String("label", "pool");
        var bad = BadUploads(photos[0]);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(120) };
        // Warm-up: each engine of the pool builds once.
        foreach (var photo in photos.Take(4)) client.PostAsync("/predict", new ByteArrayContent(photo)).Result.EnsureSuccessStatusCode();

        Console.WriteLine("| predictor | clients | requests/s (good) | p50 ms | p95 ms | p99 ms | good | good failed | bad → 4xx | bad other | swaps seen | server peak RSS MB | load avg |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (int clients in clientCounts)
        {
            var latencies = new List<double>[clients];
            int good = 0, goodFailed = 0, bad4xx = 0, badOther = 0, issued = 0;
            var versions = new HashSet<int>();
            string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            var deadline = Stopwatch.StartNew();
            bool swapped = swapTarget is null;
            var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                var mine = latencies[c] = [];
                var random = new Random(c);
                while (deadline.Elapsed.TotalSeconds < seconds)
                {
                    int n = Interlocked.Increment(ref issued);
                    if (n > maxRequests) break;
                    if (!swapped && n > maxRequests / 3 && deadline.Elapsed.TotalSeconds > seconds / 3)
                    {
                        lock (versions)
                        {
                            if (!swapped)
                            {
                                // What SaveAtomically does: a temporary file in the same folder, moved over the served one.
                                File.Copy(swapFrom!, swapTarget + ".tmp", overwrite: true);
                                File.Move(swapTarget + ".tmp", swapTarget!, overwrite: true);
                                swapped = true;
                            }
                        }
                    }
                    bool isBad = random.NextDouble() < badShare;
                    var body = isBad ? bad[random.Next(bad.Length)] : photos[random.Next(photos.Length)];
                    var watch = Stopwatch.StartNew();
                    try
                    {
                        using var response = await client.PostAsync("/predict", new ByteArrayContent(body));
                        var text = await response.Content.ReadAsStringAsync();
                        if (isBad)
                        {
                            if ((int)response.StatusCode is >= 400 and < 500) Interlocked.Increment(ref bad4xx);
                            else Interlocked.Increment(ref badOther);
                        }
                        else if (response.StatusCode == HttpStatusCode.OK)
                        {
                            mine.Add(watch.Elapsed.TotalMilliseconds);
                            Interlocked.Increment(ref good);
                            int at = text.IndexOf("\"modelVersion\":", StringComparison.Ordinal);
                            if (at >= 0) lock (versions) versions.Add(int.Parse(text[(at + 15)..].TrimEnd('}', ' ', '\n'), CultureInfo.InvariantCulture));
                        }
                        else { Interlocked.Increment(ref goodFailed); Console.Error.WriteLine($"good request failed: {(int)response.StatusCode} {text}"); }
                    }
                    catch (Exception e) when (isBad && e is HttpRequestException or IOException)
                    {
                        Interlocked.Increment(ref bad4xx); // the 30 MB upload: the server answered 413 and closed before the body was sent
                    }
                    catch (Exception e) when (!isBad)
                    {
                        Interlocked.Increment(ref goodFailed);
                        Console.Error.WriteLine($"good request failed: {e.GetType().Name}: {e.Message}");
                    }
                }
            })).ToArray();
            Task.WaitAll(tasks);
            double elapsed = deadline.Elapsed.TotalSeconds;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            string P(double q) => all.Length == 0 ? "-" : all[Math.Min(all.Length - 1, (int)(q * all.Length))].ToString("0", CultureInfo.InvariantCulture);
            load += " → " + File.ReadAllText("/proc/loadavg").Split(' ')[0];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {clients} | {good / elapsed:0.0} | {P(0.50)} | {P(0.95)} | {P(0.99)} | {good} | {goodFailed} | {bad4xx} | {badOther} | {string.Join("+", versions.Order())} | {PeakRssMb(serverPid)} | {load} |"));
        }
        return 0;
    }

    /// <summary>The raw batched forward pass: the same model's whole pipeline over the photos as one data view.</summary>
    public static int RunCeiling(string[] argv)
    {
        var args = new BenchArgs(argv, "forward-only");
        bool forwardOnly = args.Flag("forward-only");
        var model = args.String("model") ?? throw new ArgumentException("--model is required");
        var folder = args.String("photos") ?? throw new ArgumentException("--photos is required");
        int images = args.Int("images", 64), rounds = args.Int("rounds", 2);
        var paths = Directory.GetFiles(folder, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(images).ToArray();
        var ml = new MLContext();
        var whole = (TransformerChain<ITransformer>)ml.Model.Load(model, out _);
        using var disposeWhole = whole;
        var loaded = whole;
        IDataView rows = ml.Data.LoadFromEnumerable(paths.Select(p => new ImageFileRow { ImagePath = p }));
        double Pass(IDataView view)
        {
            var watch = Stopwatch.StartNew();
            var scored = loaded.Transform(view);
            using var cursor = scored.GetRowCursor([scored.Schema["Score"]]);
            var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            VBuffer<float> value = default;
            while (cursor.MoveNext()) getter(ref value);
            return watch.Elapsed.TotalSeconds;
        }
        Pass(ml.Data.LoadFromEnumerable(paths.Take(8).Select(p => new ImageFileRow { ImagePath = p })));
        string what = "decode, presize and 32-row forward passes";
        if (forwardOnly)
        {
            // The network alone: every step before the classifier runs once, untimed, into a cache; only the classifier's
            // batched Transform over the cached inputs is timed.
            var steps = loaded.ToList();
            var classifier = steps.OfType<ImageClassifierTransformer>().Last();
            var before = new TransformerChain<ITransformer>(steps.Take(steps.IndexOf(classifier)).ToArray());
            var cached = ml.Data.Cache(before.Transform(rows), classifier.FeatureColumnName);
            using (var fill = cached.GetRowCursor(cached.Schema)) while (fill.MoveNext()) { }
            rows = cached;
            loaded = new TransformerChain<ITransformer>(classifier);
            what = "32-row forward passes of presized, normalised images";
        }
        for (int round = 1; round <= rounds; round++)
        {
            string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            double s = Pass(rows);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ceiling round {round}: {paths.Length} photos in {s:0.00} s = {paths.Length / s:0.0} images/s ({what}; load avg {load} → {File.ReadAllText("/proc/loadavg").Split(' ')[0]})"));
        }
        return 0;
    }

    static byte[][] Photos(string folder)
    {
        var files = Directory.GetFiles(folder, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(64).ToArray();
        if (files.Length == 0) throw new ArgumentException($"--photos: no .jpg files under '{folder}'");
        return files.Select(File.ReadAllBytes).ToArray();
    }

    /// <summary>A truncated photo, text, 30 MB of zeros, and a PNG whose header says 20,000 x 20,000.</summary>
    static byte[][] BadUploads(byte[] photo) =>
    [
        photo[..(photo.Length / 2)],
        "this is not a photo"u8.ToArray(),
        new byte[30 << 20],
        PetsML.Tests.Serving.BadUploads.HugePngHeader(),
    ];

    static string PeakRssMb(int pid)
    {
        if (pid <= 0) return "-";
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? "-" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).ToString(CultureInfo.InvariantCulture);
        }
        catch (IOException) { return "-"; }
    }
}
