using PetsML.Transforms.Imaging;

namespace PetsML.Host.Scoring;

/// <summary>Settings of <see cref="BatchScorer.ScoreFolder"/>; every default is written here.</summary>
internal sealed class BatchScoreOptions
{
    /// <summary>Images decoded and scored together. Default 32 (memory: about 4·3·H·W bytes per image of the presize size).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Most probable classes written per image (label and probability each); capped at the class count. Default 3.</summary>
    public int TopK { get; init; } = 3;

    /// <summary>Threads decoding and presizing a batch. Default: the processor count.</summary>
    public int DecodeThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Pixel limit and EXIF handling of the decoder. Default: <see cref="ImageDecodeOptions"/>'s defaults.</summary>
    public ImageDecodeOptions DecodeOptions { get; init; } = new();

    /// <summary>Bad files kept by name in the result (all are counted). Default 1000.</summary>
    public int MaxBadFilesListed { get; init; } = 1000;

    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
        if (TopK < 1) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be at least 1.");
        if (DecodeThreads < 1) throw new ArgumentOutOfRangeException(nameof(DecodeThreads), DecodeThreads, "DecodeThreads must be at least 1.");
        if (MaxBadFilesListed < 0) throw new ArgumentOutOfRangeException(nameof(MaxBadFilesListed), MaxBadFilesListed, "MaxBadFilesListed must not be negative.");
        ArgumentNullException.ThrowIfNull(DecodeOptions);
    }
}

/// <summary>A file that could not be scored, and why.</summary>
internal sealed record BadImage(string Path, string Reason);

/// <summary>Where <see cref="BatchScorer.ScoreFolder"/> is, after each batch.</summary>
/// <param name="Done">Images handled so far in this run or skipped as already written.</param>
/// <param name="Total">Images in the folder.</param>
/// <param name="Bad">Bad files so far.</param>
/// <param name="ImagesPerSecond">Images scored per second in this run (decode included).</param>
/// <param name="NewBad">Bad files of the last batch.</param>
internal sealed record BatchScoreProgress(int Done, int Total, int Bad, double ImagesPerSecond, IReadOnlyList<BadImage> NewBad);

/// <summary>What <see cref="BatchScorer.ScoreFolder"/> did.</summary>
/// <param name="CsvPath">The predictions file.</param>
/// <param name="Total">Images in the folder.</param>
/// <param name="Written">Rows written by this run.</param>
/// <param name="AlreadyWritten">Rows found from an earlier run and skipped.</param>
/// <param name="BadCount">Files that could not be scored (not written).</param>
/// <param name="Bad">The first <see cref="BatchScoreOptions.MaxBadFilesListed"/> of them.</param>
/// <param name="RepairedLastLine">An earlier run had left a half-written last line, which was cut.</param>
/// <param name="Elapsed">Wall time of this run.</param>
internal sealed record BatchScoreResult(string CsvPath, int Total, int Written, int AlreadyWritten, int BadCount, IReadOnlyList<BadImage> Bad, bool RepairedLastLine, TimeSpan Elapsed)
{
    /// <summary>Rows written per second by this run.</summary>
    public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Written / Elapsed.TotalSeconds : 0;
}
