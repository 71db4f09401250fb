using System.Diagnostics;
using System.Text.Json;

namespace PetsML.Tests.Support;

/// <summary>Runs PetsML.LoadProbe: loads a model .zip in a separate process and returns the columns it printed.</summary>
public static class FreshProcess
{
    public static Dictionary<string, JsonElement[]> LoadAndTransform(string modelPath, IEnumerable<string> columns, IEnumerable<string> imagePaths)
        => Run(new[] { modelPath, "{json}", string.Join(',', columns) }.Concat(imagePaths));

    /// <summary>Microsoft's sample in a fresh process: Model.Load, then a PredictionEngine on each image's bytes ("Image").</summary>
    public static Dictionary<string, JsonElement[]> PredictFromBytes(string modelPath, IEnumerable<string> imagePaths)
        => Run(new[] { "--engine", modelPath, "{json}" }.Concat(imagePaths));

    static Dictionary<string, JsonElement[]> Run(IEnumerable<string> args)
    {
        var json = Path.Combine(Path.GetTempPath(), $"petsml-probe-{Guid.NewGuid():N}.json");
        var (_, stderr) = RunProbe(args.Select(arg => arg == "{json}" ? json : arg));
        Assert.IsFalse(stderr.Contains("NNPACK", StringComparison.Ordinal), $"libtorch printed to stderr:\n{stderr}");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(json));
            return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(e => e.Clone()).ToArray());
        }
        finally { File.Delete(json); }
    }

    /// <summary>Opens <paramref name="onnxPath"/> in ONNX Runtime in a fresh process (log severity WARNING) and returns what it wrote to stderr.</summary>
    public static string OnnxSessionWarnings(string onnxPath)
    {
        var (stdout, stderr) = RunProbe(["--onnx-session", onnxPath]);
        StringAssert.StartsWith(stdout, "ran ");
        return stderr;
    }

    /// <summary>
    /// Runs the probe's --glibc-tunables mode with <paramref name="args"/> and <paramref name="environment"/> (null removes
    /// a variable) and returns the JSON lines it printed at start (one, or two when it restarted itself) and the status
    /// line it printed last (GlibcMallocTunables.Describe()).
    /// </summary>
    public static (JsonElement[] Starts, string Status) GlibcTunablesLines(IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var (stdout, _) = RunProbe(new[] { "--glibc-tunables" }.Concat(args), environment);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => { using var d = JsonDocument.Parse(line); return d.RootElement.Clone(); }).ToArray();
        Assert.IsNotEmpty(lines, "the probe printed nothing");
        return (lines[..^1], lines[^1].GetProperty("status").GetString()!);
    }

    /// <summary>
    /// Runs the probe with <paramref name="args"/> (and <paramref name="environment"/>: null removes a variable), asserts
    /// that it finished within 3 minutes with exit code 0, and returns what it printed.
    /// </summary>
    private static (string Stdout, string Stderr) RunProbe(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { ProbePath() }.Concat(args)) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), "The probe did not finish in 3 minutes.");
        Assert.AreEqual(0, process.ExitCode, $"The probe failed:\n{stdout.Result}\n{stderr.Result}");
        return (stdout.Result, stderr.Result);
    }

    /// <summary>test/PetsML.Tests/bin/&lt;Configuration&gt;/&lt;tfm&gt;/ -> test/PetsML.LoadProbe/bin/&lt;Configuration&gt;/&lt;tfm&gt;/PetsML.LoadProbe.dll.</summary>
    private static string ProbePath()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent!;
        var testsRoot = configuration.Parent!.Parent!.Parent!;
        var probe = Path.Combine(testsRoot.FullName, "PetsML.LoadProbe", "bin", configuration.Name, output.Name, "PetsML.LoadProbe.dll");
        Assert.IsTrue(File.Exists(probe), $"The load probe was not built: {probe}");
        return probe;
    }
}
