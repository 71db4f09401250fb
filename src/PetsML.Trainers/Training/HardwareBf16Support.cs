using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// The machine's real answer: a CPU supports bf16 when its flags (the "flags" lines of /proc/cpuinfo on Linux) list
/// <c>avx512_bf16</c> or <c>amx_bf16</c>; a CUDA device when a small bf16 matrix product runs on it.
/// </summary>
/// <remarks>
/// Without those CPU instructions libtorch still computes bf16, but by conversion through fp32, which is slower
/// than fp32 itself; so "no flag" means "no support". On systems without /proc/cpuinfo (Windows, macOS) the CPU
/// answer is false: bf16-mixed must then be asked for explicitly. The answers are computed once per instance.
/// </remarks>
internal sealed class HardwareBf16Support : IBf16Support
{
    /// <summary>The CPU flags that mean native bf16 arithmetic.</summary>
    public static IReadOnlyList<string> CpuFlags { get; } = ["avx512_bf16", "amx_bf16"];

    /// <summary>Reads /proc/cpuinfo.</summary>
    public static HardwareBf16Support Instance { get; } = new("/proc/cpuinfo");

    private readonly Lazy<bool> _cpu;
    private readonly Dictionary<string, bool> _cuda = new(StringComparer.Ordinal);

    /// <param name="cpuInfoPath">A file in /proc/cpuinfo's format; a missing file means no CPU support.</param>
    public HardwareBf16Support(string cpuInfoPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cpuInfoPath);
        CpuInfoPath = cpuInfoPath;
        _cpu = new Lazy<bool>(() => CpuInfoHasBf16(CpuInfoPath));
    }

    /// <summary>The cpuinfo file read.</summary>
    public string CpuInfoPath { get; }

    public bool Supports(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type == DeviceType.CPU) return _cpu.Value;
        if (device.type != DeviceType.CUDA) return false;
        lock (_cuda)
        {
            var key = device.ToString();
            if (!_cuda.TryGetValue(key, out var supported))
                _cuda[key] = supported = CudaRunsBf16(device);
            return supported;
        }
    }

    /// <summary>True when a "flags" line of the cpuinfo text lists one of <see cref="CpuFlags"/>.</summary>
    public static bool CpuInfoHasBf16(string cpuInfoPath)
    {
        if (!File.Exists(cpuInfoPath)) return false;
        foreach (var line in File.ReadLines(cpuInfoPath))
        {
            int colon = line.IndexOf(':');
            if (colon < 0 || !line.AsSpan(0, colon).Trim().SequenceEqual("flags")) continue;
            var flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (flags.Any(f => CpuFlags.Contains(f, StringComparer.Ordinal))) return true;
        }
        return false;
    }

    /// <summary>
    /// TorchSharp exposes no compute-capability query, so the probe is a bf16 matmul: GPUs before Ampere reject it
    /// or lack the kernels.
    /// </summary>
    private static bool CudaRunsBf16(Device device)
    {
        try
        {
            using var scope = NewDisposeScope();
            var a = ones([8, 8], dtype: ScalarType.BFloat16, device: device);
            return a.matmul(a).sum().to(ScalarType.Float32).cpu().item<float>() == 512f;
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }
}
