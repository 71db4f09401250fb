using System.Formats.Tar;
using System.IO.Compression;

namespace PetsML.Host.Download;

/// <summary>
/// Extracts a .tar.gz without letting it write anywhere but its destination: an entry whose path is absolute or leaves
/// the destination (<c>../x</c>), a symbolic or hard link pointing outside, and device or FIFO entries are refused. The
/// archive is extracted into a hidden temporary folder next to the destination and moved into place only when every
/// entry succeeded, so a refused or failed extraction leaves nothing behind.
/// </summary>
public static class SafeTarExtractor
{
    /// <summary>
    /// Extracts <paramref name="archive"/> to <paramref name="destination"/>, which must not exist yet. When the archive
    /// holds a single top folder named like the destination (oxford-iiit-pet/... into .../oxford-iiit-pet) that folder
    /// becomes the destination; otherwise the archive's top level does. Returns the number of files written.
    /// </summary>
    /// <exception cref="InvalidDataException">An unsafe or unsupported entry, or a damaged archive; nothing is left behind.</exception>
    public static int ExtractTarGz(string archive, string destination, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(archive);
        ArgumentException.ThrowIfNullOrWhiteSpace(destination);
        var dest = Path.GetFullPath(destination);
        if (Directory.Exists(dest) || File.Exists(dest)) throw new IOException($"'{dest}' already exists; extraction needs a new folder.");
        var parent = Path.GetDirectoryName(dest)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(dest)}.extract-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            int files = ExtractInto(archive, temp, cancellationToken);
            var top = Directory.GetFileSystemEntries(temp);
            string source = top.Length == 1 && Directory.Exists(top[0]) && Path.GetFileName(top[0]) == Path.GetFileName(dest) ? top[0] : temp;
            Directory.Move(source, dest);
            return files;
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    static int ExtractInto(string archive, string root, CancellationToken ct)
    {
        var rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        string Inside(string relative, string what)
        {
            if (relative.Length == 0 || Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.Contains('\0'))
                throw new InvalidDataException($"refused {what} '{relative}': absolute or empty path");
            var full = Path.GetFullPath(Path.Combine(root, relative));
            if (full != root && !full.StartsWith(rootWithSep, StringComparison.Ordinal))
                throw new InvalidDataException($"refused {what} '{relative}': it leaves the destination folder");
            return full;
        }

        int files = 0;
        try
        {
            using var file = File.OpenRead(archive);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new TarReader(gzip);
            while (reader.GetNextEntry() is { } entry)
            {
                ct.ThrowIfCancellationRequested();
                var path = Inside(entry.Name, "entry");
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(path);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                            entry.DataStream?.CopyTo(output);
                        files++;
                        break;
                    case TarEntryType.SymbolicLink:
                    {
                        // The target is relative to the link's own folder; it must stay inside too.
                        var target = entry.LinkName;
                        if (Path.IsPathRooted(target)) throw new InvalidDataException($"refused symbolic link '{entry.Name}' -> '{target}': absolute target");
                        var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target));
                        if (resolved != root && !resolved.StartsWith(rootWithSep, StringComparison.Ordinal))
                            throw new InvalidDataException($"refused symbolic link '{entry.Name}' -> '{target}': it points outside the destination folder");
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        File.CreateSymbolicLink(path, target);
                        break;
                    }
                    case TarEntryType.HardLink:
                    {
                        // Tar hard-link names are relative to the archive root; copy the already extracted file.
                        var target = Inside(entry.LinkName, "hard link target");
                        if (!File.Exists(target)) throw new InvalidDataException($"refused hard link '{entry.Name}' -> '{entry.LinkName}': no such earlier file");
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        File.Copy(target, path);
                        files++;
                        break;
                    }
                    case TarEntryType.GlobalExtendedAttributes:
                        break; // metadata only
                    default:
                        throw new InvalidDataException($"refused entry '{entry.Name}': unsupported type {entry.EntryType}");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"{Path.GetFileName(archive)}: {e.Message}; nothing was extracted.", e);
        }
        return files;
    }
}
