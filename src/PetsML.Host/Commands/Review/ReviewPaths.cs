namespace PetsML.Host.Commands.Review;

/// <summary>
/// The only paths review reads, moves or deletes: plain relative paths under the data folder ('/'-separated, no '..',
/// no '.'-hidden segment, not rooted) that reach a regular file through no symbolic link.
/// </summary>
internal static class ReviewPaths
{
    /// <summary>Why <paramref name="relative"/> is not a plain relative path under the folder, or null when it is.</summary>
    public static string? Problem(string? relative)
    {
        if (string.IsNullOrEmpty(relative)) return "the path is empty";
        if (relative.Length > 4096) return "the path is longer than 4096 characters";
        if (relative.Any(char.IsControl)) return "the path holds a control character";
        if (relative.StartsWith('/') || relative.StartsWith('\\') || Path.IsPathRooted(relative) || relative.Contains(':'))
            return "absolute paths are refused";
        foreach (var segment in relative.Split('/', '\\'))
        {
            if (segment == "..") return "'..' is refused";
            if (segment.Length == 0 || segment == ".") return "the path is not a plain relative path";
            if (segment.StartsWith('.')) return "hidden names (starting with '.') are refused";
        }
        return null;
    }

    /// <summary>The full path of <paramref name="relative"/> under <paramref name="root"/>; a <see cref="ReviewException"/> (400) when it is not a plain path inside it.</summary>
    /// <param name="root">The data folder, a full path.</param>
    /// <param name="relative">A '/'-separated path under it.</param>
    /// <param name="inTrash">Also accept a path inside the trash folder (<see cref="ReviewJournal.TrashFolderName"/>), as the journal writes them.</param>
    public static string Full(string root, string relative, bool inTrash = false)
    {
        if (inTrash && relative == ReviewJournal.TrashFolderName) return Path.Combine(root, relative);
        var checkedPart = inTrash && relative.StartsWith(ReviewJournal.TrashFolderName + "/", StringComparison.Ordinal)
            ? relative[(ReviewJournal.TrashFolderName.Length + 1)..] : relative;
        if (Problem(checkedPart) is { } problem) throw new ReviewException(400, $"'{Printable(relative)}': {problem}.");
        var full = Path.GetFullPath(Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ReviewException(400, $"'{Printable(relative)}' is outside the data folder.");
        return full;
    }

    /// <summary>The '/'-separated path of <paramref name="full"/> relative to <paramref name="root"/>.</summary>
    public static string Relative(string root, string full) => Path.GetRelativePath(root, full).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>
    /// True when <paramref name="full"/> or a folder between it and <paramref name="root"/> is a symbolic link (or a
    /// junction): moving or serving through it could reach outside the folder.
    /// </summary>
    public static bool ThroughLink(string root, string full)
    {
        var stop = Path.TrimEndingDirectorySeparator(root);
        for (var path = full; path is not null && path.Length > stop.Length; path = Path.GetDirectoryName(path))
        {
            FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
            if (info.LinkTarget is not null) return true;
        }
        return false;
    }

    /// <summary>At most 200 characters of <paramref name="text"/>, control characters shown as '?', for messages.</summary>
    public static string Printable(string? text)
    {
        text ??= "";
        if (text.Length > 200) text = text[..200] + "...";
        return string.Concat(text.Select(c => char.IsControl(c) ? '?' : c));
    }
}
