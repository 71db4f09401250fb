using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Pipeline;

namespace PetsML.Bench;

/// <summary>
/// An explicit train/validation split for side-by-side studies: the files named in a list train, every other
/// image file of the folder validates (the reference reads the same list through bench/reference_with_split.py).
/// </summary>
internal static class ExplicitSplit
{
    sealed class Row
    {
        [ColumnName(PetsColumnNames.ImagePath)] public string ImagePath { get; set; } = "";
        [ColumnName(PetsColumnNames.IsValidation)] public float IsValidation { get; set; }  // the trainer reads a Single split column (1 = validation), as RandomSplit writes
    }

    public static IDataView Load(MLContext ml, string folder, string trainListFile)
    {
        var train = File.ReadAllLines(trainListFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal);
        ml.Data.LoadImageFiles(folder, out ImageFileList listing);
        var rows = listing.Files.Select(f => new Row { ImagePath = f, IsValidation = train.Contains(Path.GetFileName(f)) ? 0f : 1f }).ToList();
        int found = rows.Count(r => r.IsValidation == 0f);
        if (found != train.Count)
            throw new ArgumentException($"--train-list {trainListFile}: {train.Count - found} of its {train.Count} files are not in {folder}.");
        return ml.Data.LoadFromEnumerable(rows);
    }
}
