using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PetsML.Trainers.Training;

/// <summary>
/// Writes a file so that a reader sees either the old file or the complete new one, never a half-written one: the
/// bytes go to a temporary file next to it (<c>.{name}.{process id}.tmp</c>), are flushed to the disk, then renamed
/// over the target. A process killed in between leaves only the temporary file, which <see cref="RemoveStale"/>
/// deletes at the start of a later run.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The temporary file this process writes <paramref name="path"/> through (hidden, in the same folder, so the rename stays on one file system).</summary>
    public static string TemporaryPathFor(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.tmp");
    }

    /// <summary>
    /// Lets <paramref name="write"/> fill the temporary file (it gets its path), flushes it to the disk, and renames it over
    /// <paramref name="path"/>. On any failure the temporary file is deleted and the old <paramref name="path"/> is untouched.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = TemporaryPathFor(full);
        try
        {
            write(temporary);
            // Without the flush a power cut after the rename can leave a renamed but empty file on some file systems.
            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                file.Flush(flushToDisk: true);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>
    /// Deletes the temporary files that earlier, killed writers of <paramref name="path"/> left next to it: <c>.{name}.{pid}.tmp</c>
    /// and the older names <c>{name}.{pid}.tmp</c> and <c>.{name}.{32 hex digits}.tmp</c>. A file whose process id belongs to another
    /// running process is kept (it may be writing right now). Returns the deleted files.
    /// </summary>
    public static IReadOnlyList<string> RemoveStale(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) return [];
        var pattern = new Regex($@"^\.?{Regex.Escape(Path.GetFileName(full))}\.(?:(?<pid>[0-9]{{1,10}})|[0-9a-f]{{32}})\.tmp$", RegexOptions.CultureInvariant);
        var removed = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var match = pattern.Match(Path.GetFileName(file));
            if (!match.Success) continue;
            if (match.Groups["pid"].Success && int.TryParse(match.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId && IsRunning(pid))
                continue;
            File.Delete(file);
            removed.Add(file);
        }
        return removed;
    }

    static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
