using PetsML.Host.Cli;
using PetsML.Trainers.Training;

namespace PetsML.Host.Commands.Train;

/// <summary>
/// The file <c>petsml train</c> writes at the end (<c>--out</c>), checked before any work: discovering an unwritable
/// folder after an epoch of training would throw that epoch away.
/// </summary>
internal static class OutputFile
{
    /// <summary>
    /// Creates the folder of <paramref name="path"/> if needed and proves it writable by creating and deleting a probe
    /// (under the writer's own temporary name, so even a kill in between leaves nothing a later run does not remove).
    /// </summary>
    /// <exception cref="BadInputException">The path is a folder, or its folder cannot be created or written; names <paramref name="option"/>.</exception>
    public static void EnsureWritable(string path, string option)
    {
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new BadInputException($"{option} '{path}' is not a usable file path: {e.Message}", e);
        }
        if (Directory.Exists(full))
            throw new BadInputException($"{option} '{path}' is a folder; give the file to write, e.g. {Path.Combine(path, "model.zip")}.");
        var folder = Path.GetDirectoryName(full)!;
        try
        {
            Directory.CreateDirectory(folder);
            using var probe = new FileStream(AtomicFile.TemporaryPathFor(full), FileMode.Create, FileAccess.Write, FileShare.None,
                bufferSize: 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{option} '{path}': cannot write in the folder {folder}: {e.Message}", e);
        }
    }
}
