using PetsML.Transforms.Loading;
namespace PetsML;

/// <summary>The result of <see cref="ImageFileListing.List"/>: the images to use and what was left out.</summary>
public sealed class ImageFileList
{
    public ImageFileList(string folder, IReadOnlyList<string> files, IReadOnlyList<string> skippedNonImage, int ignoredFileCount)
    {
        Folder = folder;
        Files = files;
        SkippedNonImage = skippedNonImage;
        IgnoredFileCount = ignoredFileCount;
    }

    /// <summary>The listed folder, as a full path.</summary>
    public string Folder { get; }

    /// <summary>
    /// Full paths of the images PetsML can decode, sorted ordinally by their path relative to
    /// <see cref="Folder"/> written with '/' separators.
    /// </summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>
    /// Full paths (same order) of files whose extension names an image format PetsML cannot decode
    /// (.tif, .tiff, .svg, .ico, .heic, .avif): reported so they are not lost silently.
    /// </summary>
    public IReadOnlyList<string> SkippedNonImage { get; }

    /// <summary>Number of other files (not images by extension, e.g. the .mat files in Oxford-IIIT Pet's images/).</summary>
    public int IgnoredFileCount { get; }
}
