namespace PetsML.Host.Download;

/// <summary>
/// How much an archive may expand to before <see cref="SafeTarExtractor"/> refuses it. The defaults sit a little above
/// the real Oxford-IIIT Pet archive (about 800 MB of JPEGs, PNG trimaps and XML in about 18,500 entries), so the one
/// archive PetsML downloads passes and a small archive that claims gigabytes or millions of entries does not.
/// </summary>
public sealed record ArchiveLimits
{
    /// <summary>Default <see cref="MaxBytes"/>: 2 GiB of extracted file contents.</summary>
    public const long DefaultMaxBytes = 2L << 30;

    /// <summary>Default <see cref="MaxEntries"/>: 40,000 entries (files and folders).</summary>
    public const int DefaultMaxEntries = 40_000;

    /// <summary>Most bytes of file contents the whole archive may write. Default 2 GiB.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Most entries (files and folders) the archive may hold. Default 40,000.</summary>
    public int MaxEntries { get; init; } = DefaultMaxEntries;
}
