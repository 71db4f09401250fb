using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using PetsML.Trainers.Devices;
using PetsML.Trainers.Explaining;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;
using TorchSharp;
using PetsML.Trainers.FineTuning;

namespace PetsML;

/// <summary>
/// A fine-tuned image classifier inside an ML.NET pipeline: reads the image column it was trained on (images
/// it presizes and normalises itself, Presize's bytes, or AugmentImages' normalised floats) and
/// appends "Score" (class probabilities, with the class names as slot names) and "PredictedLabel"
/// (a key whose key values are the class names), the columns
/// <c>mlContext.MulticlassClassification.Evaluate</c> and <c>MapKeyToValue</c> expect, then "OutlierScore" (Single: how far
/// the photo lies from every class the model knows) and "IsUnknown" (Boolean: the score is above <see cref="UnknownThreshold"/>,
/// so the photo is likely none of the classes). Score is calibrated: the logits are divided by <see cref="Temperature"/>
/// before the softmax (docs/calibration.md).
/// Saved inside the model .zip with its weights (fp32, plain state-dict names).
/// </summary>
/// <remarks>
/// Lifetime: the model is reference-counted. Whoever fits or loads the transformer holds one reference, and every
/// row-to-row mapper ML.NET takes from it (each <c>PredictionEngine</c>) holds another; <see cref="Dispose"/> releases one,
/// and the network is freed with the last. So disposing a PredictionEngine (which by default disposes its model) never
/// breaks the other engines or the model's owner; a forward pass after the last release throws
/// <see cref="ObjectDisposedException"/> (the count is <see cref="PetsML.Transforms.Pipeline.SharedLifetime"/>, shared with
/// AugmentTransformer). Forward passes are serialised by a lock, so engines on several threads give the
/// same bits as one.
/// </remarks>
public sealed class ImageClassifierTransformer : RowMappingTransformer, IDisposable
{
    // 0x00010002: column names, input kind, and the presize/augment settings of the validation path.
    // 0x00010003: the training plan (batch, epochs, learning rate; what the user set), when the model was trained with one.
    // 0x00010004: the score calibration (temperature, accepted share, threshold of the energy score). An older PetsML
    // cannot read it (it would load the model with uncalibrated scores and no threshold), so it is also the version a reader needs.
    // 0x00010005: the outlier score's training feature rows (the score becomes the k-th nearest neighbour distance); an
    // older PetsML would misread them, so it is the version a reader needs too.
    internal static readonly ModelVersion Version = new("PETSCLSF", 0x00010005, 0x00010005, 0x00010001,
        "PetsMLImageClassifier", typeof(ImageClassifierTransformer).Assembly);

    // The formats before the calibration and before the feature rows, which Save can still write so that tests prove such models load.
    static readonly ModelVersion VersionBeforeCalibration = Version with { VersionWritten = 0x00010003, VersionReadable = 0x00010001 };
    static readonly ModelVersion VersionWithEnergyScore = Version with { VersionWritten = 0x00010004, VersionReadable = 0x00010004 };

    /// <summary>Save writes the 0x00010003 format (no calibration), as PetsML did before it: for tests of loading old models.</summary>
    internal bool SaveInFormatBeforeCalibration { get; set; }

    /// <summary>Save writes the 0x00010004 format (calibration without feature rows: the energy score): for tests of loading old models.</summary>
    internal bool SaveInFormatWithEnergyScore { get; set; }

    const string WeightsEntry = "Weights.dat";
    readonly torch.Device _device;
    readonly object _forwardLock = new();
    readonly bool _ownsModel;
    TrainingPrecision _inferencePrecision = TrainingPrecision.Fp32;
    TrainingPrecision _resolvedInferencePrecision = TrainingPrecision.Fp32;
    ImageClassifier? _bf16Model;

    readonly PresizeTransformer? _presize;
    readonly BatchAugmenter? _augmenter;
    bool _disposed;

    internal ImageClassifierTransformer(ImageClassifier model, ResNetArchitecture architecture, IReadOnlyList<string> classNames,
        string featureColumnName, int imageSize, string device, TrainingHistory? history, bool ownsModel = true,
        ClassifierInputKind inputKind = ClassifierInputKind.Normalized, PresizeTransformer? presize = null, AugmentOptions? augment = null,
        string scoreColumnName = "Score", string predictedLabelColumnName = "PredictedLabel")
    {
        InputKind = inputKind;
        if (inputKind == ClassifierInputKind.Raw) _presize = presize ?? throw new ArgumentNullException(nameof(presize));
        if (inputKind != ClassifierInputKind.Normalized) _augmenter = new BatchAugmenter(augment ?? throw new ArgumentNullException(nameof(augment)));
        Lifetime = new SharedLifetime();
        ScoreColumnName = scoreColumnName;
        PredictedLabelColumnName = predictedLabelColumnName;
        _ownsModel = ownsModel;
        Model = model;
        Architecture = architecture;
        ClassNames = classNames;
        FeatureColumnName = featureColumnName;
        ImageSize = imageSize;
        DeviceName = device;
        History = history;
        _device = TorchDevice.Resolve(device);
        Nnpack.Disable();
        Model.to(_device);
        Model.eval();
    }

    /// <summary>The network (eval mode).</summary>
    internal ImageClassifier Model { get; }

    public ResNetArchitecture Architecture { get; }

    /// <summary>Class names in class-index order (the label key's key values).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The image column read: the one the trainer read (images, Presize's bytes or AugmentImages' floats 3×ImageSize×ImageSize).</summary>
    public string FeatureColumnName { get; }

    /// <summary>Side of the square input image.</summary>
    public int ImageSize { get; }

    /// <summary>The device name used for inference ("auto", "cpu", "cuda").</summary>
    public string DeviceName { get; }

    /// <summary>The epoch table and learning-rate finder results of training; null after <c>Model.Load</c>.</summary>
    public TrainingHistory? History { get; }

    /// <summary>
    /// The training plan the model was trained with (<see cref="TrainingPlan"/>); kept in the saved model, so it is there
    /// after <c>Model.Load</c> too. Null for models written before plans were stored.
    /// </summary>
    internal TrainingPlan? Plan { get; set; }

    /// <summary>
    /// The out-of-distribution score column: the distance of the photo's pooled body features (unit length) to the 5th
    /// nearest stored training photo's (higher: further from everything the model was trained on); the energy of the
    /// logits, −logsumexp, for models saved before the feature rows (docs/calibration.md).
    /// </summary>
    public const string OutlierScoreColumnName = "OutlierScore";

    /// <summary>The Boolean column that is true when <see cref="OutlierScoreColumnName"/> is above <see cref="UnknownThreshold"/>.</summary>
    public const string IsUnknownColumnName = "IsUnknown";

    /// <summary>
    /// What Fit learned after training: the temperature, the outlier statistics and the threshold. Null for a model loaded
    /// from a file written before they were stored, or trained by hand through a session: Score is then the plain softmax,
    /// OutlierScore is NaN and IsUnknown false.
    /// </summary>
    internal ScoreCalibration? Calibration { get; set; }

    /// <summary>The temperature the logits are divided by before the softmax (fitted on the validation rows); 1 when there is none.</summary>
    public float Temperature => Calibration?.Temperature ?? 1;

    /// <summary>
    /// The OutlierScore above which a photo is unknown: the one that accepts <see cref="ImageFineTuningOptions.UnknownAcceptance"/>
    /// of the validation rows. Null when the model has no calibration (see <see cref="Temperature"/>).
    /// </summary>
    public float? UnknownThreshold => Calibration?.Threshold;

    /// <summary>The class-probability column written. Default "Score".</summary>
    public string ScoreColumnName { get; }

    /// <summary>The predicted-class key column written. Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; }

    /// <summary>What <see cref="FeatureColumnName"/> holds, and so what runs before the network.</summary>
    internal ClassifierInputKind InputKind { get; }

    /// <summary>
    /// The precision predictions run in. Default <see cref="TrainingPrecision.Fp32"/> (<see cref="Model"/> itself).
    /// <see cref="TrainingPrecision.Bf16Mixed"/> runs a bf16 copy of the model whose BatchNorm layers keep their fp32
    /// parameters and statistics and take bf16 activations directly, as autocast does (faster where the CPU has native
    /// bf16: bench/README.md, "Precision"; logits differ from fp32 by bf16 rounding). In eval mode BatchNorm is a
    /// fixed affine map, so the fp32-compute variant training uses (to keep running statistics exact) buys nothing here;
    /// <see cref="TrainingPrecision.Auto"/> picks it where the hardware has native bf16. Set it after training or
    /// after <c>mlContext.Model.Load</c>: the copy is made from <see cref="Model"/>'s weights at that moment (set it again
    /// after changing them). <see cref="Model"/> and the saved .zip stay fp32 whatever is chosen.
    /// </summary>
    public TrainingPrecision InferencePrecision
    {
        get => _inferencePrecision;
        set
        {
            var resolved = PrecisionResolver.Resolve(value, _device);
            lock (_forwardLock)
            {
                _bf16Model?.Dispose();
                _bf16Model = null;
                if (resolved == TrainingPrecision.Bf16Mixed)
                {
                    var copy = Model.CreateReplica();
                    try
                    {
                        Bf16Conversion.ToBf16(copy, Bf16BatchNorm.Native);
                        copy.eval();
                    }
                    catch
                    {
                        copy.Dispose();
                        throw;
                    }
                    _bf16Model = copy;
                }
                _inferencePrecision = value;
                _resolvedInferencePrecision = resolved;
            }
        }
    }

    /// <summary>The precision predictions actually run in (<see cref="InferencePrecision"/> with Auto resolved).</summary>
    public TrainingPrecision ResolvedInferencePrecision => _resolvedInferencePrecision;

    /// <summary>Feed the network channels-last (NHWC-contiguous) batches: faster on CPU in both precisions. Default false.</summary>
    public bool InferenceChannelsLast { get; set; }

    /// <summary>
    /// libtorch's intra-op threads for the thread running a forward pass. Default null: 1 thread for a single image (a
    /// <c>PredictionEngine</c>: slightly slower on an idle machine, but far faster when other work holds the cores;
    /// bench/README.md, "Inference"; set the core count for the lowest latency on a machine the app owns), libtorch's
    /// default for batches (<c>Transform</c>, <c>Evaluate</c>).
    /// </summary>
    public int? InferenceThreads
    {
        get => _inferenceThreads;
        set => _inferenceThreads = value is < 1 ? throw new ArgumentOutOfRangeException(nameof(InferenceThreads), value, "InferenceThreads must be at least 1, or null.") : value;
    }
    int? _inferenceThreads;

    /// <summary>Rows per forward pass when ML.NET cursors over data (<c>Transform</c>, <c>Evaluate</c>). Default 32.</summary>
    public int InferenceBatchSize
    {
        get => _inferenceBatchSize;
        set => _inferenceBatchSize = value < 1 ? throw new ArgumentOutOfRangeException(nameof(InferenceBatchSize), value, "InferenceBatchSize must be at least 1.") : value;
    }
    int _inferenceBatchSize = 32;

    /// <summary>Class probabilities for a batch of normalised images [N,3,S,S] (softmax of the logits divided by <see cref="Temperature"/>).</summary>
    public float[][] PredictProbabilities(torch.Tensor images) => Predict(images).Probabilities;

    /// <summary>The calibrated probabilities, the outlier scores and the raw logits of a batch of normalised images [N,3,S,S].</summary>
    internal ClassifierOutputs Predict(torch.Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        var calibration = Calibration;
        torch.Tensor logits, pooled = null!;
        if (calibration is { UsesFeatures: true }) (logits, pooled, _) = ForwardWithFeatures(images);
        else logits = ForwardLogits(images);
        int n = (int)logits.shape[0], k = ClassNames.Count;
        var flatLogits = logits.data<float>().ToArray();
        using var probabilities = torch.nn.functional.softmax(logits.div(Temperature), 1);
        var flat = probabilities.data<float>().ToArray();
        var rows = Enumerable.Range(0, n).Select(i => flat.AsSpan(i * k, k).ToArray()).ToArray();
        var logitRows = Enumerable.Range(0, n).Select(i => flatLogits.AsSpan(i * k, k).ToArray()).ToArray();
        var outliers = calibration is null ? Enumerable.Repeat(float.NaN, n).ToArray() : calibration.OutlierScores(logits, pooled);
        return new ClassifierOutputs(rows, outliers, logitRows);
    }

    /// <summary>True when <paramref name="outlierScore"/> is above the threshold (never for a model without calibration).</summary>
    internal bool IsUnknown(float outlierScore) => Calibration is { } c && outlierScore > c.Threshold;

    /// <summary>The logits [N, classes] of a batch, as an fp32 CPU tensor the caller disposes.</summary>
    internal torch.Tensor ForwardLogits(torch.Tensor images) => Forward(images, features: false).Logits;

    /// <summary>The logits, pooled body features and penultimate features of a batch, as fp32 CPU tensors the caller disposes.</summary>
    internal (torch.Tensor Logits, torch.Tensor Pooled, torch.Tensor Penultimate) ForwardWithFeatures(torch.Tensor images)
    {
        var (logits, pooled, penultimate) = Forward(images, features: true);
        return (logits, pooled!, penultimate!);
    }

    (torch.Tensor Logits, torch.Tensor? Pooled, torch.Tensor? Penultimate) Forward(torch.Tensor images, bool features)
    {
        lock (_forwardLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int threads = InferenceThreads ?? (images.shape[0] == 1 ? 1 : 0);
            int previousThreads = threads > 0 ? torch.get_num_threads() : 0;
            if (threads > 0) torch.set_num_threads(threads);
            try
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                var x = images.to(_device);
                if (_bf16Model is not null) x = x.to(torch.ScalarType.BFloat16);
                if (InferenceChannelsLast) x = MemoryLayout.ToChannelsLast(x);
                static torch.Tensor Out(torch.Tensor t) => t.to(torch.ScalarType.Float32).cpu().contiguous().MoveToOuterDisposeScope();
                if (!features) return (Out((_bf16Model ?? Model).call(x)), null, null);
                var (logits, pooled, penultimate) = (_bf16Model ?? Model).ForwardWithFeatures(x);
                return (Out(logits), Out(pooled), Out(penultimate));
            }
            finally { if (threads > 0) torch.set_num_threads(previousThreads); }
        }
    }

    /// <summary>
    /// fastai's <c>learn.tta(n=4, beta=0.25)</c> on <paramref name="input"/> (what <see cref="RowMappingTransformer.Transform"/> reads):
    /// the same columns as Transform appends, with each row's Score <c>lerp(mean of n augmented copies' probabilities, the
    /// plain probabilities, beta)</c> = (1 − beta)·augmented mean + beta·plain, and PredictedLabel its arg max. The copies
    /// take the training path the model was trained with (random presize crop, then the training augmentation, read from
    /// the model or from the feature column's Presize/AugmentImages annotations); copy i of the rows is epoch i of
    /// <see cref="ImageBatchSource.WithTrainingAugmentation"/> over them in batches of <see cref="InferenceBatchSize"/>, so the
    /// same <paramref name="seed"/> (default 42) and batch size give the same scores. Computed here, once (n + 1 forward passes per
    /// row; decoded images are kept between passes within <see cref="BatchSourceOptions.DefaultDecodedCacheBytes"/>); the
    /// view returned reads them by row id.
    /// </summary>
    /// <exception cref="InvalidOperationException">The feature column holds normalised floats that carry no AugmentImages annotation, so there are no images to augment.</exception>
    public IDataView TransformWithTta(IDataView input, int n = 4, double beta = 0.25, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n (augmented copies) must be at least 1.");
        if (!(beta >= 0 && beta <= 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must lie in [0, 1].");
        ObjectDisposedException.ThrowIf(_disposed, this);
        return TtaScores.Transform(this, input, n, beta, seed);
    }

    /// <summary>
    /// Grad-CAM for each row of <paramref name="input"/> (what <see cref="RowMappingTransformer.Transform"/> reads: the
    /// feature column, made by the steps before the classifier when it is part of a chain): which parts of the image the
    /// network's last block found evidence for a class in (docs/explanations.md). Rows are read and explained one at a
    /// time as the result is enumerated, in the fp32 network whatever <see cref="InferencePrecision"/> says, under the
    /// same lock as predictions; the model keeps no gradients.
    /// </summary>
    /// <param name="input">Rows holding <see cref="FeatureColumnName"/>.</param>
    /// <param name="classIndex">The class to explain, an index into <see cref="ClassNames"/>. Default null: each row's predicted class.</param>
    public IEnumerable<GradCamMap> GradCam(IDataView input, int? classIndex = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckClassIndex(classIndex);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckFeatures(input.Schema);
        var stats = InputKind == ClassifierInputKind.Normalized
            ? UpstreamImageSteps.Find(input.Schema, FeatureColumnName)?.Augment?.Normalization ?? NormalizationStats.ImageNet
            : _augmenter!.Options.Normalization;
        return Rows();

        IEnumerable<GradCamMap> Rows()
        {
            using var cursor = input.GetRowCursor(new[] { input.Schema[FeatureColumnName] });
            var readImage = MakeImageReader(cursor);
            while (cursor.MoveNext()) yield return Explain(readImage, stats, classIndex);
        }
    }

    /// <summary>
    /// Grad-CAM for one encoded image (JPEG, PNG, GIF, BMP, WebP), presized and cropped as predictions are, when the
    /// classifier reads images itself (it was trained on encoded bytes, paths or MLImages). A classifier trained on
    /// Presize or AugmentImages output explains the rows those steps make: <see cref="GradCam(IDataView, int?)"/>.
    /// </summary>
    public GradCamMap GradCam(byte[] image, int? classIndex = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return OneImage(new EncodedImageRow { Image = image }, classIndex);
    }

    /// <summary>Grad-CAM for one image file; see <see cref="GradCam(byte[], int?)"/>.</summary>
    public GradCamMap GradCam(string imagePath, int? classIndex = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        return OneImage(new ImagePathRow { Image = imagePath }, classIndex);
    }

    sealed class EncodedImageRow { public byte[] Image { get; set; } = []; }
    sealed class ImagePathRow { public string Image { get; set; } = ""; }

    GradCamMap OneImage<TRow>(TRow row, int? classIndex) where TRow : class
    {
        if (InputKind != ClassifierInputKind.Raw)
            throw new InvalidOperationException(
                $"This classifier reads '{FeatureColumnName}', made by the Presize/AugmentImages steps before it: explain their output with GradCam(IDataView).");
        var schema = SchemaDefinition.Create(typeof(TRow));
        schema[0].ColumnName = FeatureColumnName;
        var view = new MLContext().Data.LoadFromEnumerable(new[] { row }, schema);
        return GradCam(view, classIndex).Single();
    }

    void CheckClassIndex(int? classIndex)
    {
        if (classIndex is { } c && (c < 0 || c >= ClassNames.Count))
            throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"classIndex must lie in [0, {ClassNames.Count - 1}] (an index into ClassNames), or be null for the predicted class.");
    }

    GradCamMap Explain(Func<torch.Tensor> readImage, NormalizationStats stats, int? classIndex)
    {
        using var scope = torch.NewDisposeScope();
        var image = readImage();
        GradCamComputation.Result result;
        lock (_forwardLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int previousThreads = InferenceThreads is { } threads ? torch.get_num_threads() : 0;
            if (InferenceThreads is { } t) torch.set_num_threads(t);
            // The calibrated logits (divided by T), so the map's probability is the Score a prediction gives; a positive
            // factor scales every gradient alike, and the map is normalised, so the heat is the same.
            float temperature = Temperature;
            try { result = GradCamComputation.Compute(Model.BodyActivations, x => Model.Head.call(x).div(temperature), image.to(_device), classIndex); }
            finally { if (previousThreads > 0) torch.set_num_threads(previousThreads); }
        }
        var mean = torch.tensor(stats.Mean, new long[] { 3, 1, 1 });
        var std = torch.tensor(stats.Std, new long[] { 3, 1, 1 });
        var pixels = (image[0].to(torch.float32).cpu() * std + mean).clamp_(0, 1).mul_(255).round_().to_type(torch.ScalarType.Byte)
            .permute(1, 2, 0).contiguous().data<byte>().ToArray();
        int height = (int)image.shape[2], width = (int)image.shape[3];
        return new GradCamMap(width, height, result.Heat, pixels, result.ClassIndex, ClassNames[result.ClassIndex], result.Probabilities[result.ClassIndex]);
    }

    /// <summary>The presize step, the column of images it reads, and the augmentation behind <see cref="FeatureColumnName"/> in <paramref name="schema"/>.</summary>
    internal (PresizeTransformer Presize, DataViewSchema.Column Images, AugmentOptions Augment) AugmentationSteps(DataViewSchema schema)
    {
        CheckFeatures(schema);
        if (InputKind == ClassifierInputKind.Raw) return (_presize!, schema[FeatureColumnName], _augmenter!.Options);
        var steps = UpstreamImageSteps.Find(schema, FeatureColumnName)
            ?? throw new InvalidOperationException($"Column '{FeatureColumnName}' carries no PetsML Presize/AugmentImages annotation: test-time augmentation needs the images behind it.");
        return (steps.Presize, steps.RawImages, InputKind == ClassifierInputKind.Normalized ? steps.Augment! : _augmenter!.Options);
    }

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema) => ScoreColumns(inputSchema);

    /// <summary>Score and PredictedLabel with the annotations ML.NET's evaluators expect, for <paramref name="inputSchema"/>.</summary>
    internal IReadOnlyList<DataViewSchema.DetachedColumn> ScoreColumns(DataViewSchema inputSchema)
    {
        CheckFeatures(inputSchema);
        int k = ClassNames.Count;
        var names = ClassNames.Select(c => c.AsMemory()).ToArray();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> classNames = (ref VBuffer<ReadOnlyMemory<char>> v) => v = new VBuffer<ReadOnlyMemory<char>>(k, names);
        ValueGetter<ReadOnlyMemory<char>> kind = (ref ReadOnlyMemory<char> v) => v = "MulticlassClassification".AsMemory();
        ValueGetter<ReadOnlyMemory<char>> scoreValue = (ref ReadOnlyMemory<char> v) => v = "Score".AsMemory();
        ValueGetter<ReadOnlyMemory<char>> predictedValue = (ref ReadOnlyMemory<char> v) => v = "PredictedLabel".AsMemory();
        uint setId = NextScoreColumnSetId(inputSchema);
        ValueGetter<uint> setIdGetter = (ref uint v) => v = setId;
        var namesType = new VectorDataViewType(TextDataViewType.Instance, k);
        var setIdType = new KeyDataViewType(typeof(uint), int.MaxValue);

        var score = new DataViewSchema.Annotations.Builder();
        score.Add("SlotNames", namesType, classNames);
        score.Add("ScoreColumnKind", TextDataViewType.Instance, kind);
        score.Add("ScoreValueKind", TextDataViewType.Instance, scoreValue);
        score.Add("ScoreColumnSetId", setIdType, setIdGetter);
        score.Add("TrainingLabelValues", namesType, classNames);

        var predicted = new DataViewSchema.Annotations.Builder();
        predicted.Add("KeyValues", namesType, classNames);
        predicted.Add("ScoreColumnKind", TextDataViewType.Instance, kind);
        predicted.Add("ScoreValueKind", TextDataViewType.Instance, predictedValue);
        predicted.Add("ScoreColumnSetId", setIdType, setIdGetter);

        return new[]
        {
            new DataViewSchema.DetachedColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, k), score.ToAnnotations()),
            new DataViewSchema.DetachedColumn(PredictedLabelColumnName, new KeyDataViewType(typeof(uint), k), predicted.ToAnnotations()),
            new DataViewSchema.DetachedColumn(OutlierScoreColumnName, NumberDataViewType.Single),
            new DataViewSchema.DetachedColumn(IsUnknownColumnName, BooleanDataViewType.Instance),
        };
    }

    static uint NextScoreColumnSetId(DataViewSchema schema)
    {
        uint max = 0;
        foreach (var column in schema)
        {
            if (column.Annotations.Schema.GetColumnOrNull("ScoreColumnSetId") is not { } annotation) continue;
            uint id = 0;
            column.Annotations.GetGetter<uint>(annotation)(ref id);
            max = Math.Max(max, id);
        }
        return max + 1;
    }

    void CheckFeatures(DataViewSchema schema)
    {
        switch (InputKind)
        {
            case ClassifierInputKind.Normalized:
                int expected = 3 * ImageSize * ImageSize;
                SchemaShapes.Require(schema, FeatureColumnName, $"a vector of {expected} Single (3×{ImageSize}×{ImageSize}, mlContext.Transforms.AugmentImages)",
                    t => t is VectorDataViewType { ItemType: var item, Size: var size } && item == NumberDataViewType.Single && size == expected);
                break;
            case ClassifierInputKind.Presized:
                SchemaShapes.Require(schema, FeatureColumnName, "presized image bytes 3×H×W (mlContext.Transforms.Presize)",
                    t => t is VectorDataViewType { ItemType: var item, Dimensions: [3, > 0, > 0] } && item == NumberDataViewType.Byte);
                break;
            default:
                SchemaShapes.Require(schema, FeatureColumnName, "images: encoded bytes (LoadRawImageBytes), a path, or an MLImage (LoadImages)", UpstreamImageSteps.IsRawImage);
                break;
        }
    }

    /// <summary>Reads the current row's feature column as the network's input, a normalised batch of one [1,3,S,S].</summary>
    internal Func<torch.Tensor> MakeImageReader(DataViewRow input)
    {
        var column = input.Schema[FeatureColumnName];
        switch (InputKind)
        {
            case ClassifierInputKind.Normalized:
            {
                var getter = input.GetGetter<VBuffer<float>>(column);
                VBuffer<float> features = default;
                return () =>
                {
                    getter(ref features);
                    return torch.tensor(features.ToDenseArray(), new long[] { 1, 3, ImageSize, ImageSize });
                };
            }
            case ClassifierInputKind.Presized:
            {
                var dims = ((VectorDataViewType)column.Type).Dimensions;
                var getter = input.GetGetter<VBuffer<byte>>(column);
                VBuffer<byte> pixels = default;
                return () =>
                {
                    getter(ref pixels);
                    using var raw = torch.tensor(pixels.ToDenseArray(), new long[] { 1, 3, dims[1], dims[2] }, dtype: torch.uint8);
                    return _augmenter!.Validation(raw);
                };
            }
            default:
            {
                var read = ImageSource.MakeReader(input, column);
                var presize = _presize!;
                return () =>
                {
                    using var raw = torch.tensor(presize.Presize(read()), new long[] { 1, 3, presize.Height, presize.Width }, dtype: torch.uint8);
                    return _augmenter!.Validation(raw);
                };
            }
        }
    }

    protected override IEnumerable<string> GetInputColumnNames() => new[] { FeatureColumnName };

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var readImage = MakeImageReader(input);
        long cachedPosition = -1;
        float[] probabilities = Array.Empty<float>();
        float outlier = float.NaN;
        void Compute()
        {
            if (cachedPosition == input.Position && probabilities.Length > 0) return;
            using var scope = torch.NewDisposeScope();
            var outputs = Predict(readImage());
            probabilities = outputs.Probabilities[0];
            outlier = outputs.OutlierScores[0];
            cachedPosition = input.Position;
        }
        ValueGetter<VBuffer<float>> score = (ref VBuffer<float> value) =>
        {
            Compute();
            var editor = VBufferEditor.Create(ref value, probabilities.Length);
            probabilities.CopyTo(editor.Values);
            value = editor.Commit();
        };
        ValueGetter<uint> predicted = (ref uint value) =>
        {
            Compute();
            value = BatchedScores.PredictedKey(probabilities);
        };
        ValueGetter<float> outlierScore = (ref float value) =>
        {
            Compute();
            value = outlier;
        };
        ValueGetter<bool> unknown = (ref bool value) =>
        {
            Compute();
            value = IsUnknown(outlier);
        };
        return new Delegate[] { score, predicted, outlierScore, unknown };
    }

    /// <summary>Over whole data views the network runs on <see cref="InferenceBatchSize"/> rows at a time (see <see cref="BatchedScores"/>).</summary>
    protected override Delegate[] MakeCursorGetters(DataViewRowCursor input, IDataView source, bool shuffled, Func<int, bool> isActive)
    {
        if (shuffled || InferenceBatchSize == 1) return MakeGetters(input, isActive);
        var scores = new BatchedScores(this, input, source);
        return new Delegate[]
        {
            (ValueGetter<VBuffer<float>>)scores.GetScore, (ValueGetter<uint>)scores.GetPredictedLabel,
            (ValueGetter<float>)scores.GetOutlierScore, (ValueGetter<bool>)scores.GetIsUnknown,
        };
    }

    public override void Save(ModelSaveContext ctx)
    {
        var w = MlNetInternals.BeginSave(ctx, SaveInFormatBeforeCalibration ? VersionBeforeCalibration : SaveInFormatWithEnergyScore ? VersionWithEnergyScore : Version);
        w.Write((int)Architecture);
        w.Write(FeatureColumnName);
        w.Write(ImageSize);
        w.Write(ClassNames.Count);
        foreach (var name in ClassNames) w.Write(name);
        w.Write(ScoreColumnName);
        w.Write(PredictedLabelColumnName);
        w.Write((int)InputKind);
        if (_augmenter is not null) AugmentOptionsFormat.Write(w, _augmenter.Options);
        _presize?.WriteSettings(w);
        w.Write(Plan is not null);
        Plan?.Write(w);
        if (!SaveInFormatBeforeCalibration)
        {
            // The 0x00010004 format has no feature rows: its readers score the energy, so only the threshold of an energy fit fits it.
            var calibration = SaveInFormatWithEnergyScore && Calibration is { UsesFeatures: true } ? null : Calibration;
            w.Write(calibration is not null);
            calibration?.Write(w, withFeatureRows: !SaveInFormatWithEnergyScore);
        }
        lock (_forwardLock)
        {
            // Weights are always written as fp32 on the cpu, under the plain state-dict names.
            MlNetInternals.SaveBinaryStream(ctx, WeightsEntry, bw =>
            {
                Model.to(torch.CPU);
                try { Model.save(bw); }
                finally { Model.to(_device); }
            });
        }
    }

    /// <summary>Largest input side a saved classifier may declare: one 4096×4096 image is 200 MB of fp32 features.</summary>
    internal const int MaxImageSize = ModelFileLimits.MaxImageSide;

    /// <summary>
    /// Reads what <see cref="Save"/> wrote, checking every count and size before it allocates by it: the class count
    /// against <see cref="ImageClassifier.MaxClasses"/>, the image size against <see cref="MaxImageSize"/>, and the
    /// weights entry against the size of the model it must fill (read straight from the .zip into memory, never
    /// extracted to disk, and its tensor headers compared with the model before TorchSharp reads it).
    /// </summary>
    /// <exception cref="InvalidDataException">Anything that is not what PetsML writes; the message names the entry and the reason.</exception>
    internal static ImageClassifierTransformer Load(IHostEnvironment env, MlNetInternals.ModelLoadReader ctx)
    {
        var r = ctx.Reader;
        InvalidDataException Bad(string reason) => new($"The image classifier in this model .zip {reason}: it was not written by PetsML, or it is damaged.");
        ResNetArchitecture architecture;
        string featureColumn;
        int imageSize;
        string[] classNames;
        string scoreColumn = "Score", predictedColumn = "PredictedLabel";
        var kind = ClassifierInputKind.Normalized;
        AugmentOptions? augment = null;
        PresizeTransformer? presize = null;
        TrainingPlan? plan = null;
        ScoreCalibration? calibration = null;
        try
        {
            architecture = (ResNetArchitecture)r.ReadInt32();
            if (!Enum.IsDefined(architecture)) throw Bad($"names an unknown architecture ({(int)architecture})");
            featureColumn = r.ReadString();
            imageSize = r.ReadInt32();
            if (imageSize is < 1 or > MaxImageSize) throw Bad($"declares an image size of {imageSize} (at most {MaxImageSize})");
            int classCount = r.ReadInt32();
            if (classCount is < 1 or > ImageClassifier.MaxClasses)
                throw Bad($"declares {classCount:N0} classes (at least 1, at most {ImageClassifier.MaxClasses:N0})");
            // Every name takes at least its one-byte length: a count the entry cannot hold is refused before the array.
            if (r.BaseStream.CanSeek && classCount > r.BaseStream.Length - r.BaseStream.Position)
                throw Bad($"declares {classCount:N0} classes but has room for fewer names");
            classNames = new string[classCount];
            for (int i = 0; i < classNames.Length; i++) classNames[i] = r.ReadString();
            if (ctx.VersionWritten >= 0x00010002)
            {
                scoreColumn = r.ReadString();
                predictedColumn = r.ReadString();
                kind = (ClassifierInputKind)r.ReadInt32();
                if (!Enum.IsDefined(kind)) throw Bad($"has an unknown input kind {(int)kind} (damaged, or from a newer PetsML)");
                if (kind != ClassifierInputKind.Normalized)
                {
                    augment = AugmentOptionsFormat.Read(r, "image classifier");
                    // The augmentation makes the network's input: its size must be the one the network was trained on.
                    if (augment.Size != imageSize)
                        throw Bad($"declares an augment size of {augment.Size} but an image size of {imageSize}: the augmentation must make the images the network reads");
                }
                if (kind == ClassifierInputKind.Raw) presize = PresizeTransformer.ReadSettings(r, featureColumn + ".Presized");
            }
            if (ctx.VersionWritten >= 0x00010003 && r.ReadBoolean())
            {
                try { plan = TrainingPlan.Read(r); }
                catch (InvalidDataException) { throw Bad("has a training plan with values no plan has"); }
            }
            if (ctx.VersionWritten >= 0x00010004 && r.ReadBoolean())
            {
                // The feature count comes from the architecture, never from the file (docs/guarantees.md).
                int features = 2 * (int)ResNetBody.OutputChannelsOf(architecture);
                try { calibration = ScoreCalibration.Read(r, withFeatureRows: ctx.VersionWritten >= 0x00010005, features); }
                catch (InvalidDataException e) { throw Bad(e.Message); }
            }
        }
        catch (EndOfStreamException) { throw Bad("ends early"); }

        var model = ImageClassifier.Create(architecture, classNames.Length, seed: 0, pretrained: false);
        try
        {
            var expected = model.state_dict();
            long limit = expected.Values.Sum(t => t.NumberOfElements * t.ElementSize) + 512L * expected.Count + 64;
            byte[] weights;
            try { weights = ctx.ReadEntryAtMost(WeightsEntry, limit) ?? throw Bad($"has no '{WeightsEntry}' entry"); }
            catch (InvalidDataException e) when (!e.Message.StartsWith("The image classifier", StringComparison.Ordinal))
            {
                throw Bad($"has a '{WeightsEntry}' entry the model cannot hold ({e.Message})");
            }
            using (var index = new MemoryStream(weights, writable: false))
            {
                var entries = WeightFiles.ReadTorchSharpIndex(index, WeightsEntry);
                StateDictCheck.EnsureMatches(WeightsEntry, entries, expected, _ => false);
            }
            using var stream = new MemoryStream(weights, writable: false);
            using var reader = new BinaryReader(stream);
            model.load(reader);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            model.Dispose();
            if (e is InvalidDataException { Message: var m } && m.StartsWith("The image classifier", StringComparison.Ordinal)) throw;
            throw Bad($"has weights that do not fit the model ({e.Message.Split('\n')[0]})");
        }
        return new ImageClassifierTransformer(model, architecture, classNames, featureColumn, imageSize, "auto", history: null, ownsModel: true,
            kind, presize, augment, scoreColumn, predictedColumn) { Plan = plan, Calibration = calibration };
    }

    /// <summary>Releases one reference; the last frees the network (see the class remarks).</summary>
    public void Dispose()
    {
        if (!Lifetime!.Release()) return;
        lock (_forwardLock)
        {
            _disposed = true;
            _bf16Model?.Dispose();
            _bf16Model = null;
            _augmenter?.Dispose();
            if (_ownsModel) Model.Dispose();
        }
    }
}
