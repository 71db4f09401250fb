using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Cli;
using PetsML.Host.Interpretation;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Pipeline;
using TorchSharp;

namespace PetsML.Host.Commands.Shared;

/// <summary>A labelled folder scored by a model: ML.NET's metrics and fastai's interpretation of the same rows.</summary>
public sealed class ScoredFolder
{
    ScoredFolder(IDataView scored, MulticlassClassificationMetrics metrics, ClassificationInterpretation interpretation, string folder)
    {
        Scored = scored;
        Metrics = metrics;
        Interpretation = interpretation;
        Folder = folder;
    }

    public IDataView Scored { get; }
    public MulticlassClassificationMetrics Metrics { get; }
    internal ClassificationInterpretation Interpretation { get; }
    public string Folder { get; }

    /// <summary>
    /// Scores <paramref name="folder"/> (the demo photos when null, the drawn set for <see cref="DataFolder.Drawn"/>) with <paramref name="model"/>;
    /// the validation rows only unless <paramref name="all"/>; with <paramref name="tta"/> by test-time augmentation (<see cref="TestTimeAugmentation"/>).
    /// </summary>
    public static ScoredFolder Score(MLContext mlContext, ITransformer model, string? folder, bool all, bool tta = false)
    {
        folder = DataFolder.Resolve(folder);
        IDataView files;
        try { files = mlContext.Data.LoadImageFiles(folder); }
        catch (InvalidDataException e) { throw new BadInputException($"--data: {e.Message}", e); }
        IDataView Select(IDataView view) => !all && view.Schema.GetColumnOrNull(PetsColumnNames.IsValidation) is not null
            ? mlContext.Data.ValidationRows(view) : view;
        var scored = tta ? TestTimeAugmentation.Score(model, files, Select) : SelectThenClassify(model, files, Select);
        // Cache so that the images are decoded and the network runs once for the metrics, the interpretation and the pictures.
        scored = mlContext.Data.Cache(scored, PetsColumnNames.ImagePath, PetsColumnNames.Label, "Score", "PredictedLabel");
        var interpretation = ClassificationInterpretation.FromScoredData(scored);
        if (interpretation.Count == 0)
            throw new BadInputException($"--data: no image in '{folder}' has a class the model knows{(all ? "" : " in the validation split (try --all)")}.");
        var metrics = mlContext.MulticlassClassification.Evaluate(scored, PetsColumnNames.Label, "Score", "PredictedLabel");
        return new ScoredFolder(scored, metrics, interpretation, folder);
    }

    /// <summary>
    /// <paramref name="model"/> on the rows <paramref name="select"/> keeps. When the last step is the classifier, the
    /// rows are selected before it, so the network runs on the validation photos only, not on every photo.
    /// </summary>
    static IDataView SelectThenClassify(ITransformer model, IDataView rows, Func<IDataView, IDataView> select)
        => ClassifierStep.TrySplit(model, out var before, out var classifier)
            ? classifier.Transform(select(before.Transform(rows)))
            : select(model.Transform(rows));

    /// <summary>The images of <paramref name="paths"/> as the model saw them ("Features", normalised), in that order, with their statistics.</summary>
    public (torch.Tensor Images, NormalizationStats Stats) FeaturesOf(MLContext mlContext, ITransformer model, IReadOnlyList<string> paths)
    {
        var rows = paths.Select(p => new ImageFileRow { ImagePath = p }).ToList();
        var view = model.Transform(mlContext.Data.LoadFromEnumerable(rows));
        var stats = UpstreamImageSteps.Find(view, PetsColumnNames.Features)?.Augment?.Normalization ?? NormalizationStats.ImageNet;
        var column = view.Schema[PetsColumnNames.Features];
        var images = new List<float[]>();
        using (var cursor = view.GetRowCursor(new[] { column }))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> v = default;
            while (cursor.MoveNext()) { getter(ref v); images.Add(v.ToDenseArray()); }
        }
        int size = (int)Math.Round(Math.Sqrt(images[0].Length / 3.0));
        return (torch.tensor(images.SelectMany(x => x).ToArray(), new long[] { images.Count, 3, size, size }), stats);
    }
}
