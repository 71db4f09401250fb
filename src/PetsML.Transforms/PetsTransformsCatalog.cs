using PetsML;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Labeling;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;

namespace Microsoft.ML;

/// <summary>
/// The front door of PetsML's data side, in the order data flows: files -> label -> split -> presize ->
/// augment. The fastai pet-breeds <c>DataBlock</c> reads:
/// <code>
/// var data = mlContext.Data.LoadImageFiles("images");
/// var pipeline = mlContext.Transforms.LabelFromFileName(pattern: @"(.+)_\d+.jpg$")
///     .Append(mlContext.Transforms.RandomSplit(validPct: 0.2, seed: 42))
///     .Append(mlContext.Transforms.Presize(size: 460))
///     .Append(mlContext.Transforms.AugmentImages(new AugmentOptions { Size = 224, MinScale = 0.75 }));
/// </code>
/// </summary>
public static class PetsTransformsCatalog
{
    /// <summary>
    /// Lists a folder's images recursively like fastai's <c>get_image_files</c> (image extensions,
    /// case-insensitive; hidden files and folders skipped), sorted ordinally, as rows with an
    /// "ImagePath" column. fastai keeps the directory order, which differs between file systems; the
    /// ordinal sort makes a seeded split identical everywhere.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no images.</exception>
    public static IDataView LoadImageFiles(this DataOperationsCatalog catalog, string folder, bool recursive = true)
        => catalog.LoadImageFiles(folder, out _, recursive);

    /// <inheritdoc cref="LoadImageFiles(DataOperationsCatalog, string, bool)"/>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="folder">The folder to list.</param>
    /// <param name="listing">The files found, and the files with image-like extensions PetsML cannot decode (skipped, with a count).</param>
    /// <param name="recursive">Whether to descend into sub-folders. Default true.</param>
    public static IDataView LoadImageFiles(this DataOperationsCatalog catalog, string folder, out ImageFileList listing, bool recursive = true)
    {
        listing = ImageFileListing.List(folder, recursive);
        return catalog.LoadFromEnumerable(listing.Files.Select(f => new ImageFileRow { ImagePath = f }).ToList());
    }

    /// <summary>The training rows of a split column (value 0), with ML.NET's own row filter.</summary>
    public static IDataView TrainingRows(this DataOperationsCatalog catalog, IDataView data, string splitColumnName = PetsColumnNames.IsValidation)
        => catalog.FilterRowsByColumn(data, splitColumnName, upperBound: 0.5);

    /// <summary>The validation rows of a split column (value 1), with ML.NET's own row filter.</summary>
    public static IDataView ValidationRows(this DataOperationsCatalog catalog, IDataView data, string splitColumnName = PetsColumnNames.IsValidation)
        => catalog.FilterRowsByColumn(data, splitColumnName, lowerBound: 0.5);

    /// <summary>
    /// The class from a regex on the file name (fastai's <c>using_attr(RegexLabeller(pat), 'name')</c>), as a
    /// key column whose key values are the class names sorted ordinally.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="pattern">Searched in the file name only; group "label" if present, else group 1. Default fastai's <c>(.+)_\d+.jpg$</c>.</param>
    /// <param name="outputColumnName">The key column written. Default "Label".</param>
    /// <param name="pathColumnName">The path column read. Default "ImagePath".</param>
    /// <param name="unlabeled">Files the pattern does not match: fail (default) or leave unlabeled, counted.</param>
    public static FileLabelEstimator LabelFromFileName(this TransformsCatalog catalog,
        string pattern = RegexLabeler.OxfordPetsPattern,
        string outputColumnName = PetsColumnNames.Label,
        string pathColumnName = PetsColumnNames.ImagePath,
        UnlabeledFiles unlabeled = UnlabeledFiles.Error)
        => new(new FileLabelOptions { Pattern = pattern, OutputColumnName = outputColumnName, PathColumnName = pathColumnName, Unlabeled = unlabeled },
            LabelSource.FileNameRegex);

    /// <summary>The class from the name of the folder holding each file (ImageNet-style folders), as a key column.</summary>
    public static FileLabelEstimator LabelFromFolderName(this TransformsCatalog catalog,
        string outputColumnName = PetsColumnNames.Label,
        string pathColumnName = PetsColumnNames.ImagePath)
        => new(new FileLabelOptions { OutputColumnName = outputColumnName, PathColumnName = pathColumnName }, LabelSource.ParentFolder);

    /// <summary>
    /// fastai's <c>RandomSplitter(valid_pct, seed)</c> as a column: 1 for validation rows, 0 for training rows. The
    /// fitted split remembers its validation photos by their path inside the folder it was fitted on, so a saved
    /// model finds the same validation photos in a copy of that folder elsewhere.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="validPct">Fraction of rows for validation. Default 0.2.</param>
    /// <param name="seed">Seed of the permutation. Default 42.</param>
    /// <param name="outputColumnName">The Single column written. Default "IsValidation".</param>
    /// <param name="keyColumnName">The text column identifying a row. Default "ImagePath".</param>
    public static RandomSplitEstimator RandomSplit(this TransformsCatalog catalog,
        double validPct = 0.2, int seed = 42,
        string outputColumnName = PetsColumnNames.IsValidation,
        string keyColumnName = PetsColumnNames.ImagePath)
        => new(new RandomSplitOptions { ValidPct = validPct, Seed = seed, OutputColumnName = outputColumnName, KeyColumnName = keyColumnName });

    /// <summary>A split by folder (<c>root/train/…</c>, <c>root/valid/…</c>, fastai's GrandparentSplitter) as a column.</summary>
    public static FolderSplitEstimator SplitByFolder(this TransformsCatalog catalog, FolderSplitOptions? options = null)
        => new(options ?? new FolderSplitOptions());

    /// <summary>
    /// fastai's item transform <c>Resize(460)</c>: decode by content, convert to RGB, crop the largest
    /// square (or squish, or pad by reflection) and resize with an antialiased filter, giving bytes 3×Size×Size.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">Size (default 460), method (default Crop) and pad mode (default Reflection).</param>
    /// <param name="outputColumnName">The byte-vector column written. Default "Image".</param>
    /// <param name="inputColumnName">A path, raw-bytes or MLImage column. Default "ImagePath".</param>
    /// <param name="decodeOptions">Pixel limit and EXIF-orientation policy.</param>
    public static PresizeEstimator Presize(this TransformsCatalog catalog,
        PresizeOptions? options = null,
        string outputColumnName = PetsColumnNames.Image,
        string inputColumnName = PetsColumnNames.ImagePath,
        ImageDecodeOptions? decodeOptions = null)
        => new(outputColumnName, inputColumnName, options, decodeOptions);

    /// <summary>
    /// fastai's <c>aug_transforms(size=224, min_scale=0.75)</c> and <c>Normalize</c>: per-image flip, rotation,
    /// zoom, warp and lighting with a random crop, on whole batches during training; the deterministic
    /// resize and normalisation everywhere else.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">fastai's defaults when null.</param>
    /// <param name="outputColumnName">The float-vector column written. Default "Features".</param>
    /// <param name="inputColumnName">The presized byte column. Default "Image".</param>
    public static AugmentEstimator AugmentImages(this TransformsCatalog catalog,
        AugmentOptions? options = null,
        string outputColumnName = PetsColumnNames.Features,
        string inputColumnName = PetsColumnNames.Image)
        => new(outputColumnName, inputColumnName, options);
}
