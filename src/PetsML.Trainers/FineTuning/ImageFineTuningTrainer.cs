using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Trainers.Devices;
using PetsML.Trainers.Losses;
using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Pipeline;
using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// fastai's <c>vision_learner</c> + <c>fine_tune</c> as an ML.NET trainer: a pretrained ResNet body with
/// fastai's head, trained with fastai's Adam, one-cycle schedule and discriminative learning rates.
/// </summary>
/// <remarks>
/// Append it to PetsML's data pipeline (LoadImageFiles -> LabelFromFileName -> RandomSplit -> Presize ->
/// AugmentImages). It finds the Presize and AugmentImages steps upstream and re-runs their random
/// training paths for every batch of every epoch; validation rows get the deterministic path.
/// Training rows are those whose split column is 0 (or all rows when <see cref="ImageFineTuningOptions.ValidationData"/> is given).
/// </remarks>
public sealed class ImageFineTuningTrainer : IEstimator<ImageClassifierTransformer>
{
    readonly ImageFineTuningOptions _options;

    public ImageFineTuningTrainer(ImageFineTuningOptions? options = null)
    {
        _options = options ?? new ImageFineTuningOptions();
        _options.Validate();
    }

    public ImageFineTuningOptions Options => _options;

    /// <summary>Trains the classifier (fine_tune, or the options' recipe) and returns it with its epoch table.</summary>
    public ImageClassifierTransformer Fit(IDataView input)
    {
        using var session = Prepare(input);
        var learner = session.Learner;
        var token = _options.CancellationToken;
        LrFindResult? lrFind = null;
        double baseLr;
        if (_options.BaseLearningRate is { } given)
        {
            baseLr = given;
        }
        else
        {
            lrFind = learner.LrFind(cancellationToken: token);
            baseLr = lrFind.Valley;
            Log($"lr_find: valley {lrFind.Valley:0.##e+0}, minimum/10 {lrFind.Minimum:0.##e+0}, steep {lrFind.Steep:0.##e+0}, slide {lrFind.Slide:0.##e+0}; using the valley.");
        }

        if (_options.Recipe is { } recipe)
            recipe(learner);
        else
            learner.FineTune(_options.Epochs, baseLr, _options.FreezeEpochs, _options.LrMult, cancellationToken: token);

        var history = new TrainingHistory(learner.History.ToList(), lrFind, session.SkippedUnlabeled, learner.Recorder.LearningRates.ToList(), learner.Recorder.SmoothedLosses.ToList());
        return new ImageClassifierTransformer(session.Model, _options.Architecture, session.ClassNames,
            _options.FeatureColumnName, session.ImageSize, _options.Device, history, ownsModel: true);
    }

    /// <summary>fastai's <c>lr_find</c> on a fresh, frozen learner for this data; the model is discarded afterwards.</summary>
    public LrFindResult FindLearningRate(IDataView input)
    {
        using var session = Prepare(input);
        try { return session.Learner.LrFind(cancellationToken: _options.CancellationToken); }
        finally { session.Model.Dispose(); }
    }

    /// <summary>
    /// A fresh, frozen learner on this data, for recipes driven by hand (lr_find between phases, the
    /// lesson's three recipes). Dispose the session when done.
    /// </summary>
    public FineTuningSession CreateSession(IDataView input) => Prepare(input);

    FineTuningSession Prepare(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_options.Threads is { } threads) torch.set_num_threads(threads);
        var device = TorchDevice.Resolve(_options.Device);
        var steps = UpstreamImageSteps.Find(input, _options.FeatureColumnName)
            ?? throw new InvalidOperationException(
                $"The trainer reads column '{_options.FeatureColumnName}' but found no mlContext.Transforms.Presize followed by " +
                "mlContext.Transforms.AugmentImages writing it upstream: append the trainer to PetsML's data pipeline.");
        var classNames = ClassNamesOf(input.Schema);

        var (train, valid, skipped) = ReadItems(input, steps);
        if (skipped > 0) Log($"{skipped} row(s) without a label were left out.");
        var badImages = LeaveOutBadImages(train, valid);
        Log($"{train.Count} training and {valid.Count} validation images, {classNames.Count} classes; device {device.type}.");

        var batches = new BatchSourceOptions
        {
            BatchSize = _options.BatchSize, Seed = _options.Seed, DecodeThreads = _options.DecodeThreads,
            Preparation = _options.BatchPreparation, Device = device, DecodedCacheBytes = _options.DecodedCacheBytes,
        };
        var trainSource = new ImageBatchSource(train, steps.Presize, steps.Augment.Augmenter, training: true, batches);
        var validSource = valid.Count > 0 ? new ImageBatchSource(valid, steps.Presize, steps.Augment.Augmenter, training: false, batches) : null;

        var model = ImageClassifier.Create(_options.Architecture, classNames.Count, _options.Seed, _options.Pretrained, _options.WeightsFile);
        var dataStats = steps.Augment.Options.Normalization;
        var (scale, shift) = ImageClassifier.RenormalizationFor(dataStats.Mean, dataStats.Std, model.ModelStatistics.Mean, model.ModelStatistics.Std);
        model.SetInputRenormalization(scale, shift);

        var learnerOptions = new LearnerOptions
        {
            Loss = _options.LabelSmoothing > 0 ? ClassificationLoss.LabelSmoothing(_options.LabelSmoothing) : ClassificationLoss.CrossEntropy,
            WeightDecay = _options.WeightDecay,
            Device = device,
            ChannelsLast = _options.ChannelsLast,
            Precision = _options.Precision,
            Bf16BatchNorm = _options.Bf16BatchNorm,
            Progress = _options.Progress,
            Callbacks = [.. (_options.Log is null ? [] : new ILearnerCallback[] { new EpochLogger(_options.Log) }), .. Tricks.TrainingTricks.Callbacks(_options)],
        };
        var learner = new Learner(model, model.GetParameterGroups(), trainSource, validSource, learnerOptions);
        Log($"precision {PrecisionResolver.ToDisplayName(learner.Precision)} (asked: {PrecisionResolver.ToDisplayName(_options.Precision)}), " +
            $"channels_last {(_options.ChannelsLast ? "on" : "off")}.");
        learner.Freeze(); // vision_learner freezes a pretrained model right away
        return new FineTuningSession(learner, model, classNames, steps.Augment.Options.Size, skipped) { SkippedImages = badImages };
    }

    /// <summary>
    /// Checks every training and validation image's signature before the first batch (<see cref="ImageCheck"/>): bad ones stop the
    /// run here, naming them, or with <see cref="ImageFineTuningOptions.SkipBadImages"/> are removed and logged. Returns those removed.
    /// </summary>
    IReadOnlyList<BadImage> LeaveOutBadImages(List<LabeledImage> train, List<LabeledImage> valid)
    {
        var bad = ImageCheck.FindBad(train.Concat(valid).Select(i => i.Source).ToList(), _options.DecodeThreads);
        if (bad.Count == 0) return bad;
        if (!_options.SkipBadImages)
            throw new InvalidDataException(
                $"Not every image can be decoded, {ImageCheck.Describe(bad)}. Remove them, or set SkipBadImages (petsml train --skip-bad-images) to leave them out.");
        var names = bad.Select(b => b.Name).ToHashSet(StringComparer.Ordinal);
        train.RemoveAll(i => names.Contains(i.Source.Name));
        valid.RemoveAll(i => names.Contains(i.Source.Name));
        Log($"Left out {ImageCheck.Describe(bad)}.");
        if (train.Count == 0) throw new InvalidDataException("No training images are left once the files that are not images are left out.");
        return bad;
    }

    IReadOnlyList<string> ClassNamesOf(DataViewSchema schema)
    {
        var label = SchemaShapes.Require(schema, _options.LabelColumnName, "a key column (mlContext.Transforms.LabelFromFileName)",
            t => t is KeyDataViewType { Count: > 0 });
        var count = (int)((KeyDataViewType)label.Type).Count;
        if (count < 2)
            throw new InvalidDataException($"Column '{_options.LabelColumnName}' has {count} class; a classifier needs at least 2.");
        if (label.Annotations.Schema.GetColumnOrNull("KeyValues") is { } keyValues)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            label.Annotations.GetGetter<VBuffer<ReadOnlyMemory<char>>>(keyValues)(ref names);
            return names.DenseValues().Select(n => n.ToString()).ToList();
        }
        return Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    (List<LabeledImage> Train, List<LabeledImage> Valid, int Skipped) ReadItems(IDataView input, UpstreamImageSteps steps)
    {
        var train = new List<LabeledImage>();
        var valid = new List<LabeledImage>();
        int skipped = 0;
        if (_options.ValidationData is null)
        {
            skipped += Read(input, steps, train, split: (_options.ValidationColumnName, valid));
        }
        else
        {
            skipped += Read(input, steps, train, split: null);
            skipped += Read(_options.ValidationData, steps, valid, split: null);
        }
        if (train.Count == 0) throw new InvalidDataException("No training images: every labelled row is a validation row.");
        return (train, valid, skipped);
    }

    /// <summary>
    /// Adds the labelled rows of <paramref name="data"/> to <paramref name="rows"/>, or to the split's list for rows whose
    /// split column is 1; returns how many rows had no label.
    /// </summary>
    int Read(IDataView data, UpstreamImageSteps steps, List<LabeledImage> rows, (string Column, List<LabeledImage> ValidationRows)? split)
    {
        var imageColumn = data.Schema.GetColumnOrNull(steps.Presize.InputColumnName)
            ?? throw new ArgumentOutOfRangeException(steps.Presize.InputColumnName, $"Column '{steps.Presize.InputColumnName}' (the Presize input) not found.");
        var labelColumn = SchemaShapes.Require(data.Schema, _options.LabelColumnName, "a key column", t => t is KeyDataViewType);
        DataViewSchema.Column? splitColumn = split is { } sp
            ? SchemaShapes.Require(data.Schema, sp.Column, "a Single split column (1 = validation), mlContext.Transforms.RandomSplit", t => t == NumberDataViewType.Single)
            : null;
        var active = new List<DataViewSchema.Column> { imageColumn, labelColumn };
        if (splitColumn is { } s) active.Add(s);

        int skipped = 0;
        using var cursor = data.GetRowCursor(active);
        var readImage = ImageSource.MakeReader(cursor, imageColumn.Name);
        var labelGetter = cursor.GetGetter<uint>(labelColumn);
        ValueGetter<float>? splitGetter = splitColumn is { } sc ? cursor.GetGetter<float>(sc) : null;
        uint key = 0;
        float isValidation = 0;
        while (cursor.MoveNext())
        {
            labelGetter(ref key);
            if (key == 0) { skipped++; continue; }
            splitGetter?.Invoke(ref isValidation);
            var item = new LabeledImage(readImage(), (int)key - 1);
            (isValidation > 0.5f ? split!.Value.ValidationRows : rows).Add(item);
        }
        return skipped;
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, _options.LabelColumnName, "a key column (mlContext.Transforms.LabelFromFileName)",
            c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.IsKey);
        SchemaShapes.Require(inputSchema, _options.FeatureColumnName, "a known-size vector of Single (mlContext.Transforms.AugmentImages)",
            c => c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == NumberDataViewType.Single);
        var text = TextDataViewType.Instance;
        var scoreAnnotations = new SchemaShape(new[]
        {
            SchemaShapes.Vector("SlotNames", text), SchemaShapes.Scalar("ScoreColumnKind", text), SchemaShapes.Scalar("ScoreValueKind", text),
            SchemaShapes.Scalar("ScoreColumnSetId", NumberDataViewType.UInt32, isKey: true), SchemaShapes.Vector("TrainingLabelValues", text),
        });
        var predictedAnnotations = new SchemaShape(new[]
        {
            SchemaShapes.Vector("KeyValues", text), SchemaShapes.Scalar("ScoreColumnKind", text), SchemaShapes.Scalar("ScoreValueKind", text),
            SchemaShapes.Scalar("ScoreColumnSetId", NumberDataViewType.UInt32, isKey: true),
        });
        return SchemaShapes.With(inputSchema,
            SchemaShapes.Vector(ImageClassifierTransformer.ScoreColumnName, NumberDataViewType.Single, scoreAnnotations),
            SchemaShapes.Scalar(ImageClassifierTransformer.PredictedLabelColumnName, NumberDataViewType.UInt32, isKey: true, predictedAnnotations));
    }

    void Log(string line) => _options.Log?.Invoke(line);
}
