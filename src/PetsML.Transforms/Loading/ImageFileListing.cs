namespace PetsML.Transforms.Loading;

/// <summary>
/// Finds the image files under a folder, like fastai's <c>get_image_files</c>, but in an order that is
/// the same on every machine.
/// </summary>
/// <remarks>
/// As in fastai: recursive (following directory symlinks), entries whose name starts with '.' are
/// skipped (files and whole folders), the extension check is case-insensitive. Unlike fastai:
/// fastai keeps the raw directory-listing order of <c>os.walk</c>, which depends on the file system,
/// so its seeded random split differs between machines. PetsML sorts with
/// <see cref="StringComparer.Ordinal"/> on the path relative to the folder with '/' separators, so a
/// seeded split is reproducible everywhere. fastai accepts every extension that Python's
/// <c>mimetypes</c> maps to image/*; PetsML accepts the formats it can decode (<see cref="ImageExtensions"/>)
/// and reports the other common image extensions (<see cref="UnsupportedImageExtensions"/>) in
/// <see cref="ImageFileList.SkippedNonImage"/>.
/// </remarks>
internal static class ImageFileListing
{
    /// <summary>Extensions of the formats <c>ImageDecoder</c> decodes (compared case-insensitively).</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } =
        [".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".webp"];

    /// <summary>Image extensions PetsML cannot decode; such files are listed in <see cref="ImageFileList.SkippedNonImage"/>.</summary>
    public static IReadOnlyList<string> UnsupportedImageExtensions { get; } =
        [".tif", ".tiff", ".svg", ".ico", ".heic", ".avif"];

    private static readonly HashSet<string> Decodable = new(ImageExtensions, StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> Undecodable = new(UnsupportedImageExtensions, StringComparer.OrdinalIgnoreCase);

    /// <summary>Lists the images under <paramref name="folder"/>.</summary>
    /// <param name="folder">The folder to search.</param>
    /// <param name="recursive">Whether to descend into sub-folders (default true, as fastai).</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no image PetsML can decode.</exception>
    public static ImageFileList List(string folder, bool recursive = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"image folder not found: {folder}");
        }

        var images = new List<(string Key, string Path)>();
        var skipped = new List<(string Key, string Path)>();
        int ignored = 0;
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<(DirectoryInfo Dir, string Prefix)>();
        pending.Push((new DirectoryInfo(root), ""));
        // Hidden-attribute filtering would differ by OS; fastai's rule is the leading dot, applied below.
        var options = new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false, IgnoreInaccessible = false };

        while (pending.Count > 0)
        {
            var (dir, prefix) = pending.Pop();
            // Following directory symlinks (as os.walk(followlinks=True) does) can loop; visit each real folder once.
            string real = dir.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir.FullName;
            if (!visited.Add(Path.TrimEndingDirectorySeparator(real)))
            {
                continue;
            }

            foreach (FileSystemInfo entry in dir.EnumerateFileSystemInfos("*", options))
            {
                if (entry.Name.StartsWith('.'))
                {
                    continue;
                }

                string key = prefix + entry.Name;
                if (entry is DirectoryInfo sub)
                {
                    if (recursive)
                    {
                        pending.Push((sub, key + "/"));
                    }

                    continue;
                }

                string extension = Path.GetExtension(entry.Name);
                if (Decodable.Contains(extension))
                {
                    images.Add((key, entry.FullName));
                }
                else if (Undecodable.Contains(extension))
                {
                    skipped.Add((key, entry.FullName));
                }
                else
                {
                    ignored++;
                }
            }
        }

        if (images.Count == 0)
        {
            throw new InvalidDataException(
                $"no images in {folder} (looked for {string.Join(", ", ImageExtensions)}); " +
                $"skipped {skipped.Count} file(s) in formats PetsML cannot decode ({string.Join(", ", UnsupportedImageExtensions)}) " +
                $"and ignored {ignored} other file(s)");
        }

        return new ImageFileList(root, SortedPaths(images), SortedPaths(skipped), ignored);
    }

    private static string[] SortedPaths(List<(string Key, string Path)> entries)
    {
        entries.Sort((a, b) => StringComparer.Ordinal.Compare(a.Key, b.Key));
        return entries.Select(e => e.Path).ToArray();
    }
}
