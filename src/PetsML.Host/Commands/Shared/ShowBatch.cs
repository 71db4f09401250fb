using Microsoft.ML;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Visualization;

namespace PetsML.Host.Commands.Shared;

/// <summary>fastai's <c>dls.show_batch()</c>: the first augmented training batch as a labelled PNG grid.</summary>
public static class ShowBatch
{
    /// <summary>Draws the first batch of epoch 0 of <paramref name="train"/>; returns how many images were shown.</summary>
    public static int Save(IBatchSequence train, IDataView transformed, IReadOnlyList<string> classNames, string path, int maxImages = 16)
    {
        var stats = UpstreamImageSteps.Find(transformed, PetsColumnNames.Features)?.Augment.Options.Normalization
            ?? throw new InvalidOperationException("The data has no AugmentImages step writing 'Features'.");
        using var batch = train.GetBatches(0).First();
        var captions = batch.Labels.data<long>().ToArray().Select(i => classNames[(int)i]).ToList();
        BatchGrid.SavePng(batch.Images, stats, captions, path, columns: Math.Min(8, maxImages <= 9 ? 3 : 4), maxImages: maxImages);
        return Math.Min(maxImages, batch.Count);
    }
}
