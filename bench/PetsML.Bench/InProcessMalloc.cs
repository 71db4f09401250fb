using System.Runtime.InteropServices;

namespace PetsML.Bench;

/// <summary>
/// The in-process alternative to petsml's glibc restart, for measuring it: with
/// <c>PETSML_BENCH_MALLOPT_MMAP_THRESHOLD=BYTES</c> the bench calls glibc's <c>mallopt(M_MMAP_THRESHOLD, BYTES)</c>
/// (which also stops the threshold from rising) instead of restarting under GLIBC_TUNABLES. mallopt has no
/// counterpart of <c>glibc.malloc.hugetlb</c>, so those mappings use ordinary pages.
/// </summary>
internal static class InProcessMalloc
{
    const string Variable = "PETSML_BENCH_MALLOPT_MMAP_THRESHOLD";
    const int MmapThreshold = -3; // M_MMAP_THRESHOLD in glibc's malloc.h

    /// <summary>True when the variable is set and mallopt accepted it (the caller then skips the restart).</summary>
    public static bool Apply()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } text) return false;
        if (!OperatingSystem.IsLinux() || !int.TryParse(text, out int bytes) || bytes <= 0)
            throw new ArgumentException($"{Variable} must be a positive byte count, on Linux; got '{text}'.");
        if (mallopt(MmapThreshold, bytes) != 1) throw new InvalidOperationException($"mallopt(M_MMAP_THRESHOLD, {bytes}) failed.");
        Console.Error.WriteLine($"bench: mallopt(M_MMAP_THRESHOLD, {bytes}) in process, no restart");
        return true;
    }

    [DllImport("libc")]
    static extern int mallopt(int param, int value);
}
