using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Pipeline;
using PetsML.Host.Visualization;

namespace PetsML.Host.Commands.Shared;

/// <summary>fastai's <c>dls.show_batch()</c>: the first augmented training batch as a labelled PNG grid.</summary>
public static class ShowBatch
{
    /// <summary>
    /// Draws <paramref name="maxImages"/> training rows of <paramref name="data"/>, shuffled by <paramref name="seed"/>,
    /// through the pipeline's own augmentation (<see cref="AugmentTransformer.AugmentBatch"/>): no learner is built.
    /// Returns how many images were shown.
    /// </summary>
    internal static int Save(MLContext mlContext, PetsData data, int seed, string path, int maxImages = 16)
    {
        var augment = data.Model.OfType<AugmentTransformer>().Last();
        var training = mlContext.Data.TrainingRows(data.Transformed);
        // Cached, so the augmentation and the captions read the same rows in the same order.
        var rows = mlContext.Data.Cache(mlContext.Data.TakeRows(mlContext.Data.ShuffleRows(training, seed), maxImages),
            augment.InputColumnName, PetsColumnNames.Label);
        var captions = rows.GetColumn<uint>(PetsColumnNames.Label).Select(key => data.ClassNames[(int)key - 1]).ToList();
        using var images = augment.AugmentBatch(rows, maxImages, seed);
        int shown = (int)images.shape[0];
        int columns = (int)Math.Ceiling(Math.Sqrt(shown));
        BatchGrid.SavePng(images, augment.Options.Normalization, captions, path, columns, maxImages);
        return shown;
    }

    /// <summary>Draws the first batch of epoch 0 of <paramref name="train"/>; returns how many images were shown.</summary>
    internal static int Save(IBatchSequence train, IDataView transformed, IReadOnlyList<string> classNames, string path, int maxImages = 16)
    {
        var stats = UpstreamImageSteps.Find(transformed, PetsColumnNames.Features)?.Augment?.Normalization
            ?? throw new InvalidOperationException("The data has no AugmentImages step writing 'Features'.");
        using var batch = train.GetBatches(0).First();
        var captions = batch.Labels.data<long>().ToArray().Select(i => classNames[(int)i]).ToList();
        int shown = Math.Min(maxImages, batch.Count);
        // A square-ish grid, as fastai's show_batch: 4 images in 2×2, 9 in 3×3, 16 in 4×4.
        int columns = (int)Math.Ceiling(Math.Sqrt(shown));
        BatchGrid.SavePng(batch.Images, stats, captions, path, columns, maxImages);
        return shown;
    }
}
