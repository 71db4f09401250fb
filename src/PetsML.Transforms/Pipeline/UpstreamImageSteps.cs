using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;

namespace PetsML.Transforms.Pipeline;

/// <summary>
/// The presize and augmentation steps behind an image column, read from the column's own annotations
/// (<see cref="ImageStepAnnotations"/>): the trainer uses them to re-run their random training paths on
/// every batch of every epoch, which a row-by-row ML.NET cursor cannot do.
/// </summary>
/// <param name="Presize">The presize step (its settings and the column it reads).</param>
/// <param name="RawImages">The column Presize reads (a path, encoded bytes or an MLImage), possibly hidden by an in-place Presize.</param>
/// <param name="Augment">The augmentation options, when the column was written by AugmentImages; else null.</param>
internal sealed record UpstreamImageSteps(PresizeTransformer Presize, DataViewSchema.Column RawImages, AugmentOptions? Augment)
{
    /// <summary>
    /// The steps behind <paramref name="columnName"/> when it is AugmentImages' or Presize's output; null when the
    /// column carries no PetsML annotation.
    /// </summary>
    /// <exception cref="InvalidOperationException">The annotation names an input column the data no longer has.</exception>
    public static UpstreamImageSteps? Find(DataViewSchema schema, string columnName)
    {
        if (schema.GetColumnOrNull(columnName) is not { } column) return null;
        AugmentOptions? augment = null;
        using (var augmentSettings = ImageStepAnnotations.Read(column, ImageStepAnnotations.Augment))
        {
            if (augmentSettings is not null)
            {
                augment = AugmentOptionsFormat.Read(augmentSettings);
                var presizedName = augmentSettings.ReadString();
                column = ImageStepAnnotations.InputOf(schema, presizedName, column.Index)
                    ?? throw new InvalidOperationException($"Column '{columnName}' was written by AugmentImages from column '{presizedName}', which the data no longer has.");
            }
        }
        using var presizeSettings = ImageStepAnnotations.Read(column, ImageStepAnnotations.Presize);
        if (presizeSettings is null)
        {
            if (augment is null) return null;
            throw new InvalidOperationException($"Column '{column.Name}', which AugmentImages read, was not written by mlContext.Transforms.Presize.");
        }
        var presize = PresizeTransformer.ReadSettings(presizeSettings, column.Name);
        var raw = ImageStepAnnotations.InputOf(schema, presize.InputColumnName, column.Index)
            ?? throw new InvalidOperationException($"Column '{column.Name}' was presized from column '{presize.InputColumnName}', which the data no longer has.");
        if (!IsRawImage(raw.Type))
            throw new InvalidOperationException($"Column '{raw.Name}' (Presize's input) is {raw.Type}, not {PresizeTransformer.ExpectedInput}.");
        return new UpstreamImageSteps(presize, raw, augment);
    }

    /// <inheritdoc cref="Find(DataViewSchema, string)"/>
    public static UpstreamImageSteps? Find(IDataView data, string columnName) => Find(data.Schema, columnName);

    /// <summary>True for the image columns Presize reads: a path (text), encoded bytes or an MLImage.</summary>
    public static bool IsRawImage(DataViewType type)
        => type is TextDataViewType or ImageDataViewType
           || (type is VectorDataViewType v && v.ItemType == NumberDataViewType.Byte);
}
