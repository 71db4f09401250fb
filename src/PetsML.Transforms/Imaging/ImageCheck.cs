namespace PetsML.Transforms.Imaging;

/// <summary>An image that failed <see cref="ImageCheck"/>, with the reason.</summary>
internal sealed record BadImage(string Name, string Reason);

/// <summary>
/// fastai's <c>verify_images</c>, by signature and header: before any training, the first bytes of every image are read
/// and its header's width and height checked against the decode limit (a few milliseconds for thousands of files), so a
/// text or HTML file named .jpg, or a 10,000×10,000 PNG, is found before an epoch is spent, not during it.
/// </summary>
internal static class ImageCheck
{
    /// <summary>
    /// The sources that are certainly not decodable images (missing, unreadable, empty, no known signature, a file or a
    /// declared width × height past <paramref name="decode"/>'s limits), in input order.
    /// </summary>
    public static IReadOnlyList<BadImage> FindBad(IReadOnlyList<ImageSource> sources, int threads = 4, ImageDecodeOptions? decode = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        decode ??= new ImageDecodeOptions();
        var problems = new string?[sources.Count];
        Parallel.For(0, sources.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) },
            i => problems[i] = sources[i].SignatureProblem(decode));
        return problems.Select((p, i) => p is null ? null : new BadImage(sources[i].Name, p)).OfType<BadImage>().ToList();
    }

    /// <summary>"3 files: a.jpg (reason), b.jpg (reason), c.jpg (reason)", listing at most <paramref name="first"/> of them.</summary>
    public static string Describe(IReadOnlyList<BadImage> bad, int first = 5)
    {
        ArgumentNullException.ThrowIfNull(bad);
        var named = string.Join("; ", bad.Take(first).Select(b => $"{b.Name} ({b.Reason})"));
        return bad.Count > first ? $"{bad.Count} files: {named}; and {bad.Count - first} more" : $"{bad.Count} file{(bad.Count == 1 ? "" : "s")}: {named}";
    }
}
