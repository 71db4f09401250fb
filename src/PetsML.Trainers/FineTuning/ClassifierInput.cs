using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;

namespace PetsML.Trainers.FineTuning;

/// <summary>What kind of image column the classifier reads, which decides the steps it runs before the network.</summary>
internal enum ClassifierInputKind
{
    /// <summary>Normalised floats from AugmentImages: the network runs on them directly.</summary>
    Normalized,
    /// <summary>Presized bytes from Presize: the classifier runs the augmentation's validation path first.</summary>
    Presized,
    /// <summary>Encoded bytes, a path or an MLImage: the classifier presizes (centre) and normalises them itself.</summary>
    Raw,
}

/// <summary>
/// The feature column of the trainer and of the classifier it fits, and the presize/augment settings behind it:
/// read from the column's annotations (PetsML's Presize/AugmentImages) or, for plain images, from the options.
/// </summary>
/// <param name="ColumnName">The feature column.</param>
/// <param name="Kind">What the column holds.</param>
/// <param name="Steps">The presize step and the raw image column the trainer reads training images from.</param>
/// <param name="Augment">The augmentation (and normalisation) settings.</param>
internal sealed record ClassifierInput(string ColumnName, ClassifierInputKind Kind, UpstreamImageSteps Steps, AugmentOptions Augment)
{
    public const string Expected =
        "images (encoded bytes from mlContext.Transforms.LoadRawImageBytes, a path, or an MLImage from mlContext.Transforms.LoadImages), " +
        "or the output of mlContext.Transforms.Presize or mlContext.Transforms.AugmentImages";

    /// <summary>Side of the square image the network sees.</summary>
    public int ImageSize => Augment.Size;

    /// <summary>The feature column of <paramref name="schema"/> as the options name it, or an error naming it and what it may hold.</summary>
    public static ClassifierInput Resolve(DataViewSchema schema, ImageFineTuningOptions options)
    {
        var name = options.FeatureColumnName;
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(name, $"Feature column '{name}' not found; expected {Expected}.");
        var steps = UpstreamImageSteps.Find(schema, name);
        if (column.Type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Single)
        {
            if (steps?.Augment is not { } augment)
                throw new InvalidOperationException(
                    $"Feature column '{name}' holds floats that were not written by mlContext.Transforms.AugmentImages (they carry no PetsML.Augment annotation): " +
                    $"the trainer needs the images themselves to augment them. Expected {Expected}.");
            return new ClassifierInput(name, ClassifierInputKind.Normalized, steps, augment);
        }
        if (steps is not null)
            return new ClassifierInput(name, ClassifierInputKind.Presized, steps, options.Augment);
        if (UpstreamImageSteps.IsRawImage(column.Type))
        {
            var presize = new PresizeTransformer(name + ".Presized", name, options.Presize, options.DecodeOptions);
            return new ClassifierInput(name, ClassifierInputKind.Raw, new UpstreamImageSteps(presize, column, null), options.Augment);
        }
        throw new ArgumentOutOfRangeException(name, $"Schema mismatch for feature column '{name}': expected {Expected}, got {column.Type}.");
    }
}
