namespace PetsML.Transforms.Splitting;

/// <summary>
/// The split's row keys (image paths) without the folder the photos lived in when it was fitted, so that a saved
/// split still finds its validation photos after they move: a model .zip trained in one folder and evaluated on
/// a copy of the photos elsewhere (another machine, a deployed app) would otherwise see no validation row at all.
/// </summary>
internal static class RelativeKeys
{
    /// <summary>
    /// The folder that holds every key (the longest common prefix ending in '/'; "" when there is none) and each
    /// key without it. '\' is written as '/', so a split fitted on Windows matches on Linux and back.
    /// </summary>
    public static (string Root, string[] Relative) Of(IReadOnlyList<string> keys)
    {
        var normalised = keys.Select(k => k.Replace('\\', '/')).ToArray();
        if (normalised.Length == 0) return ("", normalised);
        // The common prefix of the ordinally first and last keys is the common prefix of all of them.
        var first = normalised.Min(StringComparer.Ordinal)!;
        var last = normalised.Max(StringComparer.Ordinal)!;
        int common = 0;
        while (common < first.Length && common < last.Length && first[common] == last[common]) common++;
        int cut = common == 0 ? 0 : first.LastIndexOf('/', common - 1) + 1;
        // Every key must keep a name: a key equal to the folder itself would become empty.
        if (normalised.Any(k => k.Length <= cut)) cut = 0;
        return (first[..cut], normalised.Select(k => k[cut..]).ToArray());
    }

    /// <summary>
    /// Whether <paramref name="key"/> is one of the <paramref name="stored"/> relative keys. Under
    /// <paramref name="root"/> (the photos have not moved) only its exact relative path counts. Elsewhere the whole
    /// key counts (keys saved before keys were relative were whole paths), then each ending that starts after a '/',
    /// longest first: the same photo under another folder.
    /// </summary>
    public static bool Matches(HashSet<string>.AlternateLookup<ReadOnlySpan<char>> stored, string root, ReadOnlySpan<char> key)
    {
        if (stored.Set.Count == 0) return false;
        Span<char> buffer = key.Length <= 512 ? stackalloc char[key.Length] : new char[key.Length];
        key.CopyTo(buffer);
        buffer.Replace('\\', '/');
        ReadOnlySpan<char> path = buffer;
        if (root.Length > 0 && path.StartsWith(root, StringComparison.Ordinal))
            return stored.Contains(path[root.Length..]);
        if (stored.Contains(path)) return true;
        for (int i = 0; i < path.Length; i++)
            if (path[i] == '/' && stored.Contains(path[(i + 1)..])) return true;
        return false;
    }
}
