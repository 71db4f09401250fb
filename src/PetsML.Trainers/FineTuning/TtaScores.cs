using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Pipeline;
using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// fastai's <c>tta(n, beta)</c> for a fitted classifier (<see cref="ImageClassifierTransformer.TransformWithTta"/>): every row's
/// image through the validation path and through <c>n</c> passes of the training path (random presize crop and
/// augmentation, <see cref="ImageBatchSource.WithTrainingAugmentation"/>), then per row
/// <c>lerp(mean of the augmented probabilities, plain probabilities, beta)</c>; OutlierScore and IsUnknown are the plain
/// pass's (the threshold was chosen on plain validation images). The probabilities are computed when the
/// view is made and looked up by row id, so every cursor of the view, shuffled or not, reads the same ones.
/// </summary>
internal sealed class TtaScores : RowMappingTransformer
{
    readonly ImageClassifierTransformer _classifier;
    readonly Dictionary<DataViewRowId, (float[] Probabilities, float Outlier)> _probabilities;

    TtaScores(ImageClassifierTransformer classifier, Dictionary<DataViewRowId, (float[], float)> probabilities)
    {
        _classifier = classifier;
        _probabilities = probabilities;
    }

    public static IDataView Transform(ImageClassifierTransformer classifier, IDataView input, int n, double beta, int seed)
    {
        var (presize, imageColumn, augment) = classifier.AugmentationSteps(input.Schema);
        var items = new List<LabeledImage>();
        var ids = new List<DataViewRowId>();
        using (var cursor = input.GetRowCursor([imageColumn]))
        {
            var read = ImageSource.MakeReader(cursor, imageColumn);
            var idGetter = cursor.GetIdGetter();
            DataViewRowId id = default;
            while (cursor.MoveNext())
            {
                items.Add(new LabeledImage(read(), 0));
                idGetter(ref id);
                ids.Add(id);
            }
        }
        var probabilities = new Dictionary<DataViewRowId, (float[], float)>(items.Count);
        if (items.Count > 0)
        {
            using var augmenter = new BatchAugmenter(augment);
            var plain = new ImageBatchSource(items, presize, augmenter, training: false,
                new BatchSourceOptions { BatchSize = classifier.InferenceBatchSize, Seed = seed, Device = torch.CPU });
            var outliers = new List<float>(items.Count);
            var mixed = Mix(Probabilities(classifier, plain, 0, outliers), Enumerable.Range(0, n).Select(i => Probabilities(classifier, plain.WithTrainingAugmentation(), i, null)), beta);
            for (int r = 0; r < ids.Count; r++) probabilities[ids[r]] = (mixed[r], outliers[r]);
        }
        return new TtaScores(classifier, probabilities).Transform(input);
    }

    /// <summary>The class probabilities of one epoch of <paramref name="images"/>, in item order.</summary>
    static List<float[]> Probabilities(ImageClassifierTransformer classifier, ImageBatchSource images, int epoch, List<float>? outliers)
    {
        var rows = new List<float[]>(images.ItemCount);
        foreach (var batch in images.GetBatches(epoch))
        {
            using (batch)
            {
                var outputs = classifier.Predict(batch.Images);
                rows.AddRange(outputs.Probabilities);
                outliers?.AddRange(outputs.OutlierScores);
            }
        }
        return rows;
    }

    /// <summary>Learner.MixTta (torch.lerp(mean of <paramref name="augmented"/>, <paramref name="plain"/>, beta)) per row, as fastai's tta.</summary>
    static float[][] Mix(List<float[]> plain, IEnumerable<List<float[]>> augmented, double beta)
    {
        using var scope = torch.NewDisposeScope();
        int rows = plain.Count, classes = plain[0].Length;
        torch.Tensor Stack(List<float[]> probabilities) => torch.tensor(probabilities.SelectMany(p => p).ToArray(), [rows, classes]);
        var sum = torch.zeros(rows, classes);
        int passes = 0;
        foreach (var pass in augmented)
        {
            sum.add_(Stack(pass));
            passes++;
        }
        var mixed = Learner.MixTta(sum.div(passes), Stack(plain), beta).data<float>().ToArray();
        return Enumerable.Range(0, rows).Select(r => mixed.AsSpan(r * classes, classes).ToArray()).ToArray();
    }

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => _classifier.ScoreColumns(inputSchema);

    protected override IEnumerable<string> GetInputColumnNames() => [];

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var idGetter = input.GetIdGetter();
        (float[] Probabilities, float Outlier) Current()
        {
            DataViewRowId id = default;
            idGetter(ref id);
            return _probabilities.TryGetValue(id, out var p) ? p
                : throw new InvalidOperationException("TransformWithTta's scores belong to the data view they were computed for; this row is not in it.");
        }
        ValueGetter<VBuffer<float>> score = (ref VBuffer<float> value) =>
        {
            var probabilities = Current().Probabilities;
            var editor = VBufferEditor.Create(ref value, probabilities.Length);
            probabilities.CopyTo(editor.Values);
            value = editor.Commit();
        };
        ValueGetter<uint> predicted = (ref uint value) => value = BatchedScores.PredictedKey(Current().Probabilities);
        ValueGetter<float> outlier = (ref float value) => value = Current().Outlier;
        ValueGetter<bool> unknown = (ref bool value) => value = _classifier.IsUnknown(Current().Outlier);
        return [score, predicted, outlier, unknown];
    }

    public override void Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("Test-time augmentation scores are computed for one data view and cannot be saved; save the classifier.");
}
