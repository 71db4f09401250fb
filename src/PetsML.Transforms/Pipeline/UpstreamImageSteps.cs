using Microsoft.ML;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Presizing;

namespace PetsML.Transforms.Pipeline;

/// <summary>
/// The presize and augmentation steps that produced a feature column, found by walking a data view back
/// to its sources. The trainer uses them to re-run their random training paths on every batch of every
/// epoch, which a row-by-row ML.NET cursor cannot do.
/// </summary>
/// <param name="Presize">The step that decodes and presizes the images.</param>
/// <param name="Augment">The step that augments and normalises them into the feature column.</param>
public sealed record UpstreamImageSteps(PresizeTransformer Presize, AugmentTransformer Augment)
{
    /// <summary>
    /// Finds the <see cref="AugmentTransformer"/> that writes <paramref name="featureColumnName"/> and the
    /// <see cref="PresizeTransformer"/> that feeds it; null when the data did not come through both.
    /// </summary>
    public static UpstreamImageSteps? Find(IDataView data, string featureColumnName)
    {
        AugmentTransformer? augment = null;
        for (IDataView? view = data; view is not null; )
        {
            if (view is RowMappingTransformer.MappedDataView mapped)
            {
                if (augment is null && mapped.Transformer is AugmentTransformer a && a.OutputColumnName == featureColumnName)
                    augment = a;
                else if (augment is not null && mapped.Transformer is PresizeTransformer p && p.OutputColumnName == augment.InputColumnName)
                    return new UpstreamImageSteps(p, augment);
                view = mapped.Source;
            }
            else
            {
                view = DataViewSources.SourceOf(view);
            }
        }
        return null;
    }
}
