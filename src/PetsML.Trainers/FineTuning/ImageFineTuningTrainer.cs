using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using PetsML.Trainers.Devices;
using PetsML.Trainers.Interop.MlNet;
using PetsML.Trainers.Losses;
using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Trainers.Tricks;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Pipeline;
using TorchSharp;
using PetsML.Trainers.FineTuning;

namespace PetsML;

/// <summary>
/// fastai's <c>vision_learner</c> + <c>fine_tune</c> as an ML.NET trainer: a pretrained ResNet body with
/// fastai's head, trained with fastai's Adam, one-cycle schedule and discriminative learning rates.
/// </summary>
/// <remarks>
/// It reads exactly the columns it declares: the label key column and the feature column, which holds images
/// (encoded bytes, paths, MLImages: the trainer presizes and augments them itself) or the output of PetsML's
/// Presize/AugmentImages, whose settings travel with the column as annotations (see <see cref="ImageFineTuningOptions.FeatureColumnName"/>).
/// Either way it re-runs the random training paths for every batch of every epoch; validation rows get the
/// deterministic path. Validation: <see cref="ImageFineTuningOptions.ValidationData"/>, else the split column, else a
/// seeded <see cref="ImageFineTuningOptions.ValidPct"/> of the rows.
/// </remarks>
public sealed class ImageFineTuningTrainer : IEstimator<ImageClassifierTransformer>
{
    /// <summary>The channel of <c>mlContext.Log</c> the trainer writes to.</summary>
    public const string LogChannelName = "FineTuneImageClassifier";

    readonly ImageFineTuningOptions _options;
    readonly IHostEnvironment? _environment;
    readonly int _seed;

    public ImageFineTuningTrainer(ImageFineTuningOptions? options = null) : this(options, environment: null) { }

    /// <summary>A trainer of an MLContext: its seed when the options set none, its log beside <see cref="ImageFineTuningOptions.Log"/>.</summary>
    internal ImageFineTuningTrainer(ImageFineTuningOptions? options, IHostEnvironment? environment)
    {
        _options = options?.Clone() ?? new ImageFineTuningOptions();
        _options.Validate();
        _environment = environment;
        _seed = _options.Seed ?? (environment is null ? null : MlNetContext.SeedOf(environment)) ?? ImageFineTuningOptions.DefaultSeed;
    }

    /// <summary>The seed used: <see cref="ImageFineTuningOptions.Seed"/>, else the MLContext's, else 42.</summary>
    public int Seed => _seed;

    /// <summary>A copy of the options this trainer was made with (changing it changes nothing).</summary>
    public ImageFineTuningOptions Options => _options.Clone();

    /// <summary>
    /// Trains the classifier (fine_tune, or the options' recipe) and returns it with its epoch table. With
    /// <see cref="CheckpointOptions.Path"/> the fine_tune keeps a checkpoint; with
    /// <see cref="CheckpointOptions.ResumeFrom"/> it continues one.
    /// </summary>
    public ImageClassifierTransformer Fit(IDataView input)
    {
        using var session = Prepare(input);
        var learner = session.Learner;
        var token = _options.CancellationToken;
        var resume = _options.Checkpointing.ResumeFrom;
        if (resume is not null) EnsureResumable(resume, session.ClassNames);
        LrFindResult? lrFind = null;
        double baseLr;
        if (session.Plan.BaseLearningRate is { } given)
        {
            baseLr = given;
        }
        else if (resume is not null)
        {
            baseLr = resume.Plan.BaseLearningRate; // the interrupted run's "find" already chose it
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
            FineTune(learner, session.ClassNames, session.Plan, baseLr, resume);

        var history = new TrainingHistory(learner.History.ToList(), lrFind, session.SkippedUnlabeled, learner.Recorder.LearningRates.ToList(), learner.Recorder.SmoothedLosses.ToList())
        {
            SkippedImages = session.SkippedImages,
        };
        var transformer = session.ToTransformer(_options, history);
        transformer.Plan = session.Plan;
        try { transformer.Calibration = session.FitCalibration(transformer, _options.UnknownAcceptance, _seed, Log); }
        catch
        {
            transformer.Dispose();
            throw;
        }
        return transformer;
    }

    /// <summary>
    /// fine_tune with the options' schedule; with a <see cref="CheckpointOptions.Path"/>, a
    /// <see cref="CheckpointCallback"/> keeps the run, and a failure once it wrote a checkpoint is logged with its epoch.
    /// </summary>
    void FineTune(Learner learner, IReadOnlyList<string> classNames, TrainingPlan trainingPlan, double baseLr, TrainingCheckpoint? resume)
    {
        var plan = FineTunePlan.WithDefaults(trainingPlan.Epochs, trainingPlan.FreezeEpochs, baseLr, _options.LrMult);
        CheckpointCallback? checkpoint = null;
        if (_options.Checkpointing.Path is { } path)
        {
            foreach (var stale in AtomicFile.RemoveStale(path)) Log($"Removed a temporary file an interrupted earlier run left behind: {stale}");
            var settings = new Dictionary<string, string>(_options.Checkpointing.Settings ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            foreach (var (key, value) in TrainingTricks.Settings(_options.Tricks)) settings[key] = value;
            checkpoint = new CheckpointCallback(path, plan, classNames, settings, resume?.EpochsDone ?? 0, warning => Log("warning: " + warning))
            {
                OnWritten = _options.Checkpointing.Written,
                TrainingPlan = trainingPlan,
            };
            learner.AddCallback(checkpoint);
        }
        try
        {
            learner.FineTune(plan.Epochs, plan.BaseLearningRate, plan.FreezeEpochs, plan.LrMult, plan.PctStart, plan.Div, _options.CancellationToken, resume);
        }
        catch when (checkpoint is { Written: true })
        {
            Log($"Checkpoint after epoch {checkpoint.SavedEpochs} of {plan.TotalEpochs}: {checkpoint.Path}. " +
                "Continue with Checkpointing.ResumeFrom = TrainingCheckpoint.Load(that file), the same data and the same options.");
            throw;
        }
        finally
        {
            if (checkpoint is not null) learner.RemoveCallback(checkpoint);
        }
    }

    /// <summary>A checkpoint continues this run only if it has the data's classes and the options' tricks (Learner.FineTune checks the schedule).</summary>
    void EnsureResumable(TrainingCheckpoint resume, IReadOnlyList<string> classNames)
    {
        if (!resume.ClassNames.SequenceEqual(classNames, StringComparer.Ordinal))
            throw new InvalidDataException($"CheckpointOptions.ResumeFrom: the checkpoint's classes ({string.Join(", ", resume.ClassNames)}) differ from the data's ({string.Join(", ", classNames)}).");
        TrainingTricks.EnsureSameAs(_options.Tricks, resume.Settings);
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
    internal FineTuningSession CreateSession(IDataView input) => Prepare(input);

    FineTuningSession Prepare(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_options.Compute.Threads is { } threads) torch.set_num_threads(threads);
        var device = TorchDevice.Resolve(_options.Compute.Device);
        var classifierInput = ClassifierInput.Resolve(input.Schema, _options);
        var classNames = ClassNamesOf(input.Schema);

        var (train, valid, skipped) = ReadItems(input, classifierInput);
        if (skipped > 0) Log($"{skipped} row(s) without a label were left out.");
        var badImages = LeaveOutBadImages(train, valid, classifierInput.Steps.Presize.DecodeOptions);
        Log($"{train.Count} training and {valid.Count} validation images, {classNames.Count} classes; device {device.type}.");
        if (valid.Count == 0) Log("No validation set (ValidPct = 0): training without validation, so the epoch table has no valid_loss or error_rate.");
        var plan = DecidePlan(train.Count, classNames.Count, valid.Count);
        if (_options.MaxTrainingTime is { } budget && _options.Checkpointing.ResumeFrom is null)
        {
            plan = plan.FitToBudget(budget, TrainingTimeProbe.SecondsPerEpoch(plan, _options, device, classifierInput.Augment.Size),
                keepFrozen: _options.Tricks.ProgressiveResizing > 0);
            Log(plan.DescribeBudget()!);
        }

        var batches = new BatchSourceOptions
        {
            BatchSize = plan.BatchSize, Seed = _seed, DecodeThreads = _options.Compute.DecodeThreads,
            Preparation = _options.Compute.BatchPreparation, Device = device, DecodedCacheBytes = _options.Compute.DecodedCacheBytes,
        };
        var augmenter = new BatchAugmenter(classifierInput.Augment);
        var trainSource = new ImageBatchSource(train, classifierInput.Steps.Presize, augmenter, training: true, batches);
        var validSource = valid.Count > 0 ? new ImageBatchSource(valid, classifierInput.Steps.Presize, augmenter, training: false, batches) : null;
        var progressive = _options.Tricks.ProgressiveResizing > 0
            ? new ProgressiveResizing(classifierInput.Augment, trainSource, validSource, _options.Tricks.ProgressiveResizing,
                _options.Tricks.ProgressiveEpochs ?? plan.FreezeEpochs, plan.FreezeEpochs)
            : null;
        if (progressive is not null)
            Log($"Progressive resizing: fine_tune's first {progressive.SmallEpochs} epoch(s) at {progressive.SmallSize} px, the rest at {classifierInput.Augment.Size} px.");

        var model = ImageClassifier.Create(_options.Architecture, classNames.Count, _seed, _options.Pretrained, _options.WeightsFile);
        var dataStats = classifierInput.Augment.Normalization;
        var (scale, shift) = ImageClassifier.RenormalizationFor(dataStats.Mean, dataStats.Std, model.ModelStatistics.Mean, model.ModelStatistics.Std);
        model.SetInputRenormalization(scale, shift);

        var learnerOptions = new LearnerOptions
        {
            Loss = _options.Tricks.LabelSmoothing > 0 ? ClassificationLoss.LabelSmoothing(_options.Tricks.LabelSmoothing) : ClassificationLoss.CrossEntropy,
            WeightDecay = _options.WeightDecay,
            Compute = _options.Compute,
            Progress = _options.Progress,
            Callbacks = [new EpochLogger(Log), .. TrainingTricks.Callbacks(_options.Tricks, _seed), .. progressive is null ? [] : new ILearnerCallback[] { progressive }, .. _options.Callbacks],
        };
        var learner = new Learner(model, model.GetParameterGroups(), progressive?.Train ?? trainSource, progressive is null ? validSource : progressive.Valid, learnerOptions);
        Log($"precision {PrecisionResolver.ToDisplayName(learner.Precision)} (asked: {PrecisionResolver.ToDisplayName(_options.Compute.Precision)}), " +
            $"channels_last {(_options.Compute.ChannelsLast ? "on" : "off")}.");
        learner.Freeze(); // vision_learner freezes a pretrained model right away
        return new FineTuningSession(learner, model, classNames, classifierInput, augmenter, skipped) { SkippedImages = badImages, Progressive = progressive, Plan = plan, TrainItems = train, ValidItems = valid };
    }

    /// <summary>
    /// The training plan (<see cref="TrainingPlan"/>, the one place that decides): the options' values where set, the plan's
    /// rules elsewhere; a resumed run takes the checkpoint's stored plan (a checkpoint from before plans were stored gives
    /// its schedule). Its description goes to the log.
    /// </summary>
    TrainingPlan DecidePlan(int trainingPhotos, int classes, int validationPhotos)
    {
        if (_options.Checkpointing.ResumeFrom is { } resume)
        {
            if (resume.TrainingPlan is { } stored)
            {
                // Options set to other values than the stored plan's would be ignored: refuse them, naming the option.
                void Same(string option, object? set, object stored)
                {
                    if (set is not null && !set.Equals(stored))
                        throw new ArgumentException($"CheckpointOptions.ResumeFrom: the checkpoint belongs to a different run ({char.ToLowerInvariant(option[0])}{option[1..]} {stored} vs {set}); " +
                            $"leave {option} unset to use the checkpoint's training plan, or set it to {stored}.", option);
                }
                Same(nameof(ImageFineTuningOptions.BatchSize), _options.BatchSize, stored.BatchSize);
                Same(nameof(ImageFineTuningOptions.Epochs), _options.Epochs, stored.Epochs);
                Same(nameof(ImageFineTuningOptions.FreezeEpochs), _options.FreezeEpochs, stored.FreezeEpochs);
                if (_options.BaseLearningRateSet) Same(nameof(ImageFineTuningOptions.BaseLearningRate), _options.BaseLearningRate, resume.Plan.BaseLearningRate);
                Log("Resuming with the checkpoint's training plan:");
                foreach (var line in stored.Describe()) Log(line);
                return stored;
            }
            var old = TrainingPlan.Decide(trainingPhotos, classes, validationPhotos, new UserChoices(_options.BatchSize,
                _options.Epochs ?? resume.Plan.Epochs, _options.FreezeEpochs ?? resume.Plan.FreezeEpochs, true,
                _options.BaseLearningRateSet ? _options.BaseLearningRate : resume.Plan.BaseLearningRate));
            foreach (var line in old.Describe()) Log(line);
            return old;
        }
        var plan = TrainingPlan.Decide(trainingPhotos, classes, validationPhotos,
            new UserChoices(_options.BatchSize, _options.Epochs, _options.FreezeEpochs, _options.BaseLearningRateSet, _options.BaseLearningRate));
        foreach (var line in plan.Describe()) Log(line);
        return plan;
    }

    /// <summary>
    /// Checks every training and validation image's signature and declared size before the first batch (<see cref="ImageCheck"/>): bad ones stop the
    /// run here, naming them, or with <see cref="ImageFineTuningOptions.SkipBadImages"/> are removed and logged. Returns those removed.
    /// </summary>
    IReadOnlyList<BadImage> LeaveOutBadImages(List<LabeledImage> train, List<LabeledImage> valid, ImageDecodeOptions decode)
    {
        var bad = ImageCheck.FindBad(train.Concat(valid).Select(i => i.Source).ToList(), _options.Compute.DecodeThreads, decode);
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

    /// <summary>
    /// The training and validation images: <see cref="ImageFineTuningOptions.ValidationData"/>, else the rows whose split
    /// column is 1, else a seeded <see cref="ImageFineTuningOptions.ValidPct"/> of the rows (fastai's RandomSplitter).
    /// </summary>
    (List<LabeledImage> Train, List<LabeledImage> Valid, int Skipped) ReadItems(IDataView input, ClassifierInput classifierInput)
    {
        var train = new List<LabeledImage>();
        var valid = new List<LabeledImage>();
        int skipped;
        if (_options.ValidationData is { } validation)
        {
            skipped = Read(input, classifierInput.Steps.RawImages, train, split: null);
            var validationImages = ClassifierInput.Resolve(validation.Schema, _options).Steps.RawImages;
            skipped += Read(validation, validationImages, valid, split: null);
        }
        else if (input.Schema.GetColumnOrNull(_options.ValidationColumnName) is not null)
        {
            skipped = Read(input, classifierInput.Steps.RawImages, train, split: (_options.ValidationColumnName, valid));
        }
        else
        {
            var all = new List<LabeledImage>();
            skipped = Read(input, classifierInput.Steps.RawImages, all, split: null);
            (train, valid) = RandomSplit(all);
            Log($"No validation data and no '{_options.ValidationColumnName}' column: {valid.Count} of {all.Count} rows held out for validation (ValidPct {_options.ValidPct}, seed {_seed}).");
        }
        if (train.Count == 0) throw new InvalidDataException("No training images: every labelled row is a validation row.");
        return (train, valid, skipped);
    }

    /// <summary>fastai's RandomSplitter: a seeded permutation; the first int(valid_pct·n) rows are validation.</summary>
    (List<LabeledImage> Train, List<LabeledImage> Valid) RandomSplit(List<LabeledImage> all)
    {
        if (_options.ValidPct == 0) return (all, new List<LabeledImage>());
        using var generator = new torch.Generator((ulong)_seed);
        using var permutation = torch.randperm(all.Count, generator: generator, dtype: torch.int64);
        var order = permutation.data<long>().Select(i => (int)i).ToArray();
        int cut = (int)(_options.ValidPct * all.Count);
        return (order.Skip(cut).Select(i => all[i]).ToList(), order.Take(cut).Select(i => all[i]).ToList());
    }

    /// <summary>
    /// Adds the labelled rows of <paramref name="data"/> to <paramref name="rows"/>, or to the split's list for rows whose
    /// split column is 1; returns how many rows had no label.
    /// </summary>
    int Read(IDataView data, DataViewSchema.Column imageColumn, List<LabeledImage> rows, (string Column, List<LabeledImage> ValidationRows)? split)
    {
        var labelColumn = SchemaShapes.Require(data.Schema, _options.LabelColumnName, "a key column", t => t is KeyDataViewType);
        DataViewSchema.Column? splitColumn = split is { } sp
            ? SchemaShapes.Require(data.Schema, sp.Column, "a Single split column (1 = validation), mlContext.Transforms.RandomSplit", t => t == NumberDataViewType.Single)
            : null;
        var active = new List<DataViewSchema.Column> { imageColumn, labelColumn };
        if (splitColumn is { } s) active.Add(s);

        int skipped = 0;
        using var cursor = data.GetRowCursor(active);
        var readImage = ImageSource.MakeReader(cursor, imageColumn);
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
        SchemaShapes.Require(inputSchema, _options.FeatureColumnName, ClassifierInput.Expected,
            c => (c.Kind == SchemaShape.Column.VectorKind.Scalar && (c.ItemType is TextDataViewType || c.ItemType is Microsoft.ML.Transforms.Image.ImageDataViewType))
                 || (c.Kind != SchemaShape.Column.VectorKind.Scalar && (c.ItemType == NumberDataViewType.Byte || c.ItemType == NumberDataViewType.Single)));
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
            SchemaShapes.Vector(_options.ScoreColumnName, NumberDataViewType.Single, scoreAnnotations),
            SchemaShapes.Scalar(_options.PredictedLabelColumnName, NumberDataViewType.UInt32, isKey: true, predictedAnnotations),
            SchemaShapes.Scalar(ImageClassifierTransformer.OutlierScoreColumnName, NumberDataViewType.Single),
            SchemaShapes.Scalar(ImageClassifierTransformer.IsUnknownColumnName, BooleanDataViewType.Instance));
    }

    void Log(string line)
    {
        _options.Log?.Invoke(line);
        if (_environment is not null) MlNetContext.Info(_environment, LogChannelName, line);
    }
}
