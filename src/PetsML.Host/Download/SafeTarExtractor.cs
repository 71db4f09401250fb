using System.Formats.Tar;
using System.IO.Compression;

namespace PetsML.Host.Download;

/// <summary>
/// Extracts a .tar.gz without letting it write anywhere but its destination. Only folders and regular files are
/// accepted: symbolic links, hard links, devices and FIFOs are refused (the data sets PetsML downloads have none, and a
/// link is the one way an entry whose path looks inside can write outside). Entry paths must be relative, without
/// <c>..</c>, drive letters or backslashes. The total size and the number of entries are capped
/// (<see cref="ArchiveLimits"/>). Nothing on disk is followed: files are created with <see cref="FileMode.CreateNew"/>
/// and no folder on the way from the extraction folder to an entry may be a link. The archive is extracted into a
/// hidden temporary folder next to the destination, which is deleted on any refusal or failure and moved into place
/// only when the whole archive passed.
/// </summary>
public static class SafeTarExtractor
{
    /// <summary>
    /// Extracts <paramref name="archive"/> to <paramref name="destination"/>, which must not exist yet. When the archive
    /// holds a single top folder named like the destination (oxford-iiit-pet/... into .../oxford-iiit-pet) that folder
    /// becomes the destination; otherwise the archive's top level does. Returns the number of files written.
    /// </summary>
    /// <exception cref="InvalidDataException">A refused entry, an archive over its limits, or a damaged archive; the
    /// message names the archive, the entry and the reason, and nothing is left behind.</exception>
    public static int ExtractTarGz(string archive, string destination, ArchiveLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(archive);
        ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        limits ??= new ArchiveLimits();
        if (limits.MaxBytes < 0 || limits.MaxEntries < 0) throw new ArgumentOutOfRangeException(nameof(limits), "limits must not be negative");
        var dest = Path.GetFullPath(destination);
        if (Directory.Exists(dest) || File.Exists(dest) || new FileInfo(dest).LinkTarget is not null)
            throw new IOException($"'{dest}' already exists; extraction needs a new folder.");
        var parent = Path.GetDirectoryName(dest)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(dest)}.extract-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            int files;
            try { files = ExtractInto(archive, temp, limits, cancellationToken); }
            catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
            {
                throw new InvalidDataException($"{Path.GetFileName(archive)}: {e.Message}; nothing was extracted.", e);
            }
            var top = Directory.GetFileSystemEntries(temp);
            string source = top.Length == 1 && Directory.Exists(top[0]) && Path.GetFileName(top[0]) == Path.GetFileName(dest) ? top[0] : temp;
            Directory.Move(source, dest);
            return files;
        }
        finally
        {
            // Holds only folders and regular files (links are never created), so deleting it cannot reach outside.
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    static int ExtractInto(string archive, string root, ArchiveLimits limits, CancellationToken ct)
    {
        int files = 0, entries = 0;
        long bytes = 0;
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        while (reader.GetNextEntry() is { } entry)
        {
            ct.ThrowIfCancellationRequested();
            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes) continue; // metadata only, writes nothing
            if (++entries > limits.MaxEntries)
                throw new InvalidDataException($"refused: more than {limits.MaxEntries:N0} entries (the entry limit)");
            var parts = RelativeParts(entry.Name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    CreateFolders(root, parts, parts.Length, entry.Name);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                {
                    if (entry.Length < 0 || entry.Length > limits.MaxBytes - bytes)
                        throw new InvalidDataException($"refused entry '{entry.Name}': the archive expands to more than {limits.MaxBytes:N0} bytes (the size limit)");
                    bytes += entry.Length;
                    var target = Path.Combine(CreateFolders(root, parts, parts.Length - 1, entry.Name), parts[^1]);
                    if (Path.Exists(target) || new FileInfo(target).LinkTarget is not null)
                        throw new InvalidDataException($"refused entry '{entry.Name}': a second entry with the same path");
                    using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
                        entry.DataStream?.CopyTo(output);
                    files++;
                    break;
                }
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    throw new InvalidDataException($"refused entry '{entry.Name}': a {(entry.EntryType == TarEntryType.HardLink ? "hard" : "symbolic")} link (-> '{entry.LinkName}'); links are not extracted");
                default:
                    throw new InvalidDataException($"refused entry '{entry.Name}': type {entry.EntryType} (only folders and regular files are extracted)");
            }
        }
        return files;
    }

    /// <summary>The entry's path split into names, refusing anything that is not a plain relative path.</summary>
    static string[] RelativeParts(string name)
    {
        string Refuse(string why) => throw new InvalidDataException($"refused entry '{name}': {why}");
        if (name.Contains('\0')) Refuse("a NUL character in its path");
        if (name.Contains('\\')) Refuse("a backslash in its path");
        if (name.StartsWith('/')) Refuse("an absolute path");
        if (name.Length >= 2 && name[1] == ':' && char.IsAsciiLetter(name[0])) Refuse("a drive letter");
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToArray();
        if (parts.Length == 0) Refuse("an empty path");
        if (parts.Contains("..")) Refuse("'..' in its path (it would leave the destination folder)");
        return parts;
    }

    /// <summary>
    /// Creates the first <paramref name="count"/> folders of <paramref name="parts"/> under <paramref name="root"/> and
    /// returns the last one. Every existing component must be a real folder, not a link or a file: the check is on disk,
    /// not on the path's text.
    /// </summary>
    static string CreateFolders(string root, string[] parts, int count, string name)
    {
        var path = root;
        for (int i = 0; i < count; i++)
        {
            path = Path.Combine(path, parts[i]);
            var info = new DirectoryInfo(path);
            if (info.LinkTarget is not null) throw new InvalidDataException($"refused entry '{name}': '{string.Join('/', parts[..(i + 1)])}' is a link on disk");
            if (info.Exists) continue;
            if (File.Exists(path)) throw new InvalidDataException($"refused entry '{name}': '{string.Join('/', parts[..(i + 1)])}' is a file, not a folder");
            Directory.CreateDirectory(path);
        }
        return path;
    }
}
