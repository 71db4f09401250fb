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
        var probe = ProbePath();
        var json = Path.Combine(Path.GetTempPath(), $"petsml-probe-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(probe);
        foreach (var arg in args)
            start.ArgumentList.Add(arg == "{json}" ? json : arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), "The load probe did not finish in 3 minutes.");
        Assert.AreEqual(0, process.ExitCode, $"The load probe failed:\n{stdout.Result}\n{stderr.Result}");
        Assert.IsFalse(stderr.Result.Contains("NNPACK", StringComparison.Ordinal), $"libtorch printed to stderr:\n{stderr.Result}");
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
        var probe = ProbePath();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { probe, "--onnx-session", onnxPath }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), "The probe did not finish in 3 minutes.");
        Assert.AreEqual(0, process.ExitCode, $"The probe failed:\n{stdout.Result}\n{stderr.Result}");
        StringAssert.StartsWith(stdout.Result, "ran ");
        return stderr.Result;
    }

    /// <summary>
    /// Runs the probe's --glibc-tunables mode with <paramref name="args"/> and <paramref name="environment"/> (null removes
    /// a variable) and returns the JSON lines it printed: one, or two when it restarted itself.
    /// </summary>
    public static JsonElement[] GlibcTunablesLines(IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { ProbePath(), "--glibc-tunables" }.Concat(args)) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), "The probe did not finish in 3 minutes.");
        Assert.AreEqual(0, process.ExitCode, $"The probe failed:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => { using var d = JsonDocument.Parse(line); return d.RootElement.Clone(); }).ToArray();
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
