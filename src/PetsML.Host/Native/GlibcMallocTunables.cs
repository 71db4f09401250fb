using System.Collections;
using System.Runtime.InteropServices;
using System.Text;

namespace PetsML.Host.Native;

/// <summary>
/// glibc's malloc settings for a process that trains with libtorch, applied by PetsML's executables (petsml, the
/// benchmarks) before they do anything else.
/// </summary>
/// <remarks>
/// <para>
/// libtorch allocates and frees activations and gradients of several megabytes at every batch. glibc's malloc raises
/// its mmap threshold (up to 32 MiB) after the first such block is freed, so later blocks come from the heap, which
/// fragments and keeps what was freed: fine_tune(2) on the pets sample peaked at 1.86 GB, above the Python reference's
/// 1.73 GB, and at 1.35 GB (1 MiB) or 1.40 GB (4 MiB) when every block above that threshold is its own mapping,
/// returned to the system when freed.
/// Own mappings of 1 MiB and more cost about a fifth of the training speed (a page fault per fresh 4 KiB page); backed
/// by transparent huge pages (<c>glibc.malloc.hugetlb=1</c>, glibc 2.35 and later) and from 4 MiB on, they cost about
/// 5% and keep the saving. The measurements are in bench/README.md ("Peak memory").
/// </para>
/// <para>
/// glibc reads its tunables only when a process starts, so the executable replaces itself once with
/// <c>GLIBC_TUNABLES</c> set (execve: the same process id, arguments, environment and open files; nothing has run
/// yet). Nothing happens off Linux, on a C library other than glibc 2.35+, when transparent huge pages are off, when
/// <c>GLIBC_TUNABLES</c> is already set (the user's choice wins, and the restarted process sees it set), or when
/// <c>PETSML_GLIBC_TUNABLES=0</c>. A library cannot do this for the application that loads it: docs/guarantees.md
/// says how an application sets the same variable.
/// </para>
/// <para>
/// <c>petsml serve</c> takes huge pages only (<see cref="ServingValue"/>): a server's working set is steady (batches of
/// at most a few dozen images), and with every large block its own mapping each forward pass faulted in and zeroed
/// fresh pages. Side by side at 8 clients: 30-31 requests/s with huge pages only, 20-29 on glibc's defaults, 15-17
/// under the training tunables (bench/README.md, "Serving").
/// </para>
/// </remarks>
internal static class GlibcMallocTunables
{
    /// <summary>The tunables: a 4 MiB mmap threshold (fixed, so it no longer rises), huge pages for those mappings.</summary>
    public const string Value = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304";

    /// <summary>The tunables of <c>petsml serve</c>: huge pages for the heap, glibc's own mmap threshold.</summary>
    public const string ServingValue = "glibc.malloc.hugetlb=1";

    /// <summary>The tunables for a command line whose first argument is <paramref name="command"/>.</summary>
    public static string ValueFor(string? command) => command == "serve" ? ServingValue : Value;

    /// <summary>The environment variable that turns the restart off when it is <c>0</c>.</summary>
    public const string OptOutVariable = "PETSML_GLIBC_TUNABLES";

    private const string TunablesVariable = "GLIBC_TUNABLES";
    private static readonly Version FirstWithHugeTlb = new(2, 35);

    /// <summary>
    /// Restarts this process under <see cref="Value"/> when <see cref="WhyNot"/> finds no reason against it. Returns
    /// when it does not restart, or when the restart fails (the process then goes on as it was).
    /// </summary>
    /// <param name="args">The command line's arguments; the first is the command.</param>
    public static void ApplyByRestarting(IReadOnlyList<string> args)
    {
        if (WhyNotHere() is not null) return;
        if (CommandLine() is not { Length: > 0 } argv) return;

        var environment = new List<string?>();
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
            environment.Add($"{entry.Key}={entry.Value}");
        environment.Add($"{TunablesVariable}={ValueFor(args.Count > 0 ? args[0] : null)}");
        environment.Add(null);
        RemoveDiagnosticSocket();
        execve("/proc/self/exe", [.. argv, null], [.. environment]);
        // Only reached when execve failed: carry on with glibc's defaults.
    }

    /// <summary>
    /// Deletes this runtime's diagnostic IPC socket (<c>dotnet-diagnostic-PID-KEY-socket</c> in the temporary folder).
    /// The runtime removes it when it shuts down, which execve skips: without this every run left one 0-byte socket
    /// behind. The restarted runtime makes its own. Losing it for the few milliseconds before execve costs nothing.
    /// </summary>
    private static void RemoveDiagnosticSocket()
    {
        try
        {
            foreach (var socket in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
                File.Delete(socket);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // not ours to fight over: restart anyway
    }

    /// <summary>
    /// One line for a user who wonders why memory differs from the documented figures: "on (GLIBC_TUNABLES=…)" in a
    /// process running under PetsML's tunables, else "off: " and the reason.
    /// </summary>
    public static string Describe(IReadOnlyList<string> args)
    {
        var tunables = Environment.GetEnvironmentVariable(TunablesVariable);
        var value = ValueFor(args.Count > 0 ? args[0] : null);
        if (tunables == value) return $"on ({TunablesVariable}={value})";
        return "off: " + (tunables is not null ? $"{TunablesVariable} is set to the user's '{tunables}'" : WhyNotHere() ?? "the restart failed");
    }

    /// <summary>Why this process does not restart under the tunables (see <see cref="WhyNot"/>), or null when it does.</summary>
    internal static string? WhyNotHere() => OperatingSystem.IsLinux()
        ? WhyNot(Environment.GetEnvironmentVariable(TunablesVariable), Environment.GetEnvironmentVariable(OptOutVariable),
            GlibcVersion(), TransparentHugePageMode())
        : "not Linux";

    /// <summary>
    /// Why the tunables are not applied on a machine with these readings, or null when they are. <paramref name="tunables"/>
    /// is GLIBC_TUNABLES, <paramref name="optOut"/> PETSML_GLIBC_TUNABLES, <paramref name="glibc"/> the C library's
    /// version (null when it is not glibc), <paramref name="transparentHugePages"/> the selected mode of
    /// /sys/kernel/mm/transparent_hugepage/enabled (null when absent).
    /// </summary>
    internal static string? WhyNot(string? tunables, string? optOut, Version? glibc, string? transparentHugePages)
    {
        if (optOut == "0") return $"{OptOutVariable}=0";
        if (tunables is not null) return $"{TunablesVariable} is already set";
        if (glibc is null) return "the C library is not glibc";
        if (glibc < FirstWithHugeTlb) return $"glibc {glibc} has no glibc.malloc.hugetlb (2.35 and later)";
        if (transparentHugePages is not ("always" or "madvise"))
            return $"transparent huge pages are {transparentHugePages ?? "not available"}";
        return null;
    }

    /// <summary>The selected mode in a transparent_hugepage/enabled text such as <c>always [madvise] never</c>.</summary>
    internal static string? SelectedMode(string text)
    {
        int open = text.IndexOf('['), close = text.IndexOf(']');
        return open >= 0 && close > open ? text[(open + 1)..close] : null;
    }

    internal static string? TransparentHugePageMode()
    {
        try { return SelectedMode(File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled")); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    internal static Version? GlibcVersion()
    {
        try { return Version.TryParse(Marshal.PtrToStringUTF8(gnu_get_libc_version()), out var v) ? v : null; }
        catch (EntryPointNotFoundException) { return null; }
        catch (DllNotFoundException) { return null; }
    }

    /// <summary>This process's native argv (e.g. <c>dotnet petsml.dll train ...</c>), arguments that are empty included.</summary>
    private static string[]? CommandLine()
    {
        try
        {
            var parts = Encoding.UTF8.GetString(File.ReadAllBytes("/proc/self/cmdline")).Split('\0');
            return parts.Length > 1 ? parts[..^1] : null; // every argument ends with a NUL: the last part is empty
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    [DllImport("libc")]
    private static extern int execve(string path, string?[] argv, string?[] envp);

    [DllImport("libc")]
    private static extern IntPtr gnu_get_libc_version();
}
