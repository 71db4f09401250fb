using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace PetsML.Serving;

/// <summary>
/// One load of the model file, split where the batched predictor splits the work: <see cref="Features"/> runs the steps
/// before the classifier (decode, presize, the validation path of AugmentImages) for one image on the request's thread,
/// through a pool of PredictionEngines; <see cref="Score(IReadOnlyList{Array})"/> runs the classifier once over many images' features (its
/// own batched <c>Transform</c>). Leases count the requests using it plus one for the predictor while it is current; the
/// engines and the model are disposed when the last lease ends, so a request that started on this model finishes on it
/// even after a newer one has been swapped in.
/// </summary>
internal sealed class LoadedModel
{
    /// <summary>The encoded image handed to the pipeline (a vector of bytes, under the image column's name).</summary>
    internal sealed class ImageRow
    {
        public byte[] Image { get; set; } = [];
    }

    /// <summary>The classifier's input column for one image (bytes or floats, under the classifier's feature column name).</summary>
    internal sealed class FeatureRow<T>
    {
        public T[] Features { get; set; } = [];
    }

    readonly MLContext _mlContext;
    readonly ITransformer _loaded;
    readonly IFeatureSteps _features;
    int _leases = 1;

    LoadedModel(MLContext mlContext, ITransformer loaded, ImageClassifierTransformer classifier, IFeatureSteps features, int version)
    {
        _mlContext = mlContext;
        _loaded = loaded;
        Classifier = classifier;
        _features = features;
        Version = version;
    }

    public ImageClassifierTransformer Classifier { get; }

    public int Version { get; }

    /// <summary>
    /// Loads <paramref name="path"/> and keeps the part of the pipeline that reads the image: from its first Presize step
    /// (a model trained from file paths labels and splits them first, which a served image needs neither of) up to the
    /// classifier, or nothing when the classifier presizes the image itself (ML.NET's image-bytes shape: its decode then
    /// runs in the batch).
    /// </summary>
    public static LoadedModel Load(string path, int version, PetsPredictionOptions options)
    {
        var mlContext = new MLContext();
        mlContext.RegisterPetsML();
        ITransformer loaded;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete))
            loaded = mlContext.Model.Load(file, out _);
        try
        {
            var steps = (loaded as IEnumerable<ITransformer>)?.ToList() ?? [loaded];
            var classifier = steps.OfType<ImageClassifierTransformer>().LastOrDefault()
                ?? throw new InvalidDataException($"'{path}' is an ML.NET model with no PetsML image classifier in it.");
            int at = steps.IndexOf(classifier);
            int first = steps.FindIndex(t => t is PresizeTransformer);
            if (options.InferenceThreads is int threads) classifier.InferenceThreads = threads;
            if (options.InferencePrecision is TrainingPrecision precision) classifier.InferencePrecision = precision;
            if (options.InferenceChannelsLast is bool channelsLast) classifier.InferenceChannelsLast = channelsLast;
            classifier.InferenceBatchSize = options.MaxBatchSize;
            IFeatureSteps features;
            if (first >= 0 && first < at)
            {
                var before = new TransformerChain<ITransformer>(steps.Skip(first).Take(at - first).ToArray());
                string imageColumn = ((PresizeTransformer)steps[first]).InputColumnName;
                var input = SchemaDefinition.Create(typeof(ImageRow));
                input[nameof(ImageRow.Image)].ColumnName = imageColumn;
                var type = before.GetOutputSchema(mlContext.Data.LoadFromEnumerable(Array.Empty<ImageRow>(), input).Schema)[classifier.FeatureColumnName].Type;
                features = ((VectorDataViewType)type).ItemType == NumberDataViewType.Single
                    ? new EngineFeatures<float>(mlContext, before, input, classifier, type)
                    : new EngineFeatures<byte>(mlContext, before, input, classifier, type);
            }
            else features = new EncodedImage(mlContext, classifier);
            var model = new LoadedModel(mlContext, loaded, classifier, features, version);
            features.Warm(); // fails here, not in a request, when the image steps do not read bytes
            return model;
        }
        catch
        {
            (loaded as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>Takes a lease unless the model has already been released by everyone.</summary>
    public bool TryAcquire()
    {
        for (int leases = Volatile.Read(ref _leases); leases > 0; leases = Volatile.Read(ref _leases))
            if (Interlocked.CompareExchange(ref _leases, leases + 1, leases) == leases) return true;
        return false;
    }

    /// <summary>Ends a lease; the last one disposes the engines and the model.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _leases) != 0) return;
        _features.Dispose();
        (_loaded as IDisposable)?.Dispose();
    }

    /// <summary>The classifier's input for one encoded image (call with a lease held; any thread).</summary>
    /// <exception cref="ImageDecodeException">The image is bad (ML.NET may wrap it).</exception>
    public Array Features(byte[] image) => _features.Read(image);

    /// <summary>Class probabilities for the images whose <see cref="Features"/> these are, in one forward pass of the classifier.</summary>
    public ServedScore[] Score(IReadOnlyList<Array> features) => _features.Score(features);

    /// <summary>The classifier's answer for one encoded image: <see cref="Features"/> then a batch of one.</summary>
    public ServedScore Score(byte[] image) => Score([Features(image)])[0];

    /// <summary>The steps before the classifier, and the classifier over what they make.</summary>
    interface IFeatureSteps : IDisposable
    {
        Array Read(byte[] image);
        ServedScore[] Score(IReadOnlyList<Array> features);
        void Warm();
    }

    /// <summary>
    /// The classifier's Transform over an in-memory view of the batch: ML.NET's own batched scoring (one forward pass per
    /// <see cref="ImageClassifierTransformer.InferenceBatchSize"/> rows), with the same validation path as the pipeline.
    /// </summary>
    abstract class BatchScorer<T>(MLContext mlContext, ImageClassifierTransformer classifier, DataViewType featureType) : IFeatureSteps
    {
        readonly SchemaDefinition _batchSchema = FeatureSchema(classifier, featureType);

        /// <summary>One image's feature column, of the exact type the classifier checks.</summary>
        protected static SchemaDefinition FeatureSchema(ImageClassifierTransformer classifier, DataViewType type)
        {
            var schema = SchemaDefinition.Create(typeof(FeatureRow<T>));
            schema[nameof(FeatureRow<T>.Features)].ColumnName = classifier.FeatureColumnName;
            schema[nameof(FeatureRow<T>.Features)].ColumnType = type;
            return schema;
        }

        protected MLContext MlContext => mlContext;

        public abstract Array Read(byte[] image);

        public ServedScore[] Score(IReadOnlyList<Array> features)
        {
            var rows = features.Select(f => new FeatureRow<T> { Features = (T[])f }).ToList();
            var scored = classifier.Transform(mlContext.Data.LoadFromEnumerable(rows, _batchSchema));
            var columns = new[] { classifier.ScoreColumnName, ImageClassifierTransformer.OutlierScoreColumnName, ImageClassifierTransformer.IsUnknownColumnName }
                .Select(name => scored.Schema[name]).ToArray();
            using var cursor = scored.GetRowCursor(columns);
            var scoreGetter = cursor.GetGetter<VBuffer<float>>(columns[0]);
            var outlierGetter = cursor.GetGetter<float>(columns[1]);
            var unknownGetter = cursor.GetGetter<bool>(columns[2]);
            var result = new ServedScore[rows.Count];
            VBuffer<float> score = default;
            float outlier = 0;
            bool unknown = false;
            for (int i = 0; cursor.MoveNext(); i++)
            {
                scoreGetter(ref score);
                outlierGetter(ref outlier);
                unknownGetter(ref unknown);
                result[i] = new ServedScore(score.DenseValues().ToArray(), outlier, unknown);
            }
            return result;
        }

        public virtual void Warm() { }

        public virtual void Dispose() { }
    }

    /// <summary>Decode, presize and augment through PredictionEngines over the steps before the classifier (a pool: one per thread at a time).</summary>
    sealed class EngineFeatures<T>(MLContext mlContext, ITransformer before, SchemaDefinition input, ImageClassifierTransformer classifier, DataViewType featureType)
        : BatchScorer<T>(mlContext, classifier, featureType)
    {
        readonly ConcurrentBag<PredictionEngine<ImageRow, FeatureRow<T>>> _engines = [];
        readonly SchemaDefinition _output = FeatureSchema(classifier, featureType);

        public override Array Read(byte[] image)
        {
            if (!_engines.TryTake(out var engine)) engine = Create();
            // Back to the pool even when the image was bad: each Predict reads a new row. Disposing one engine early would
            // dispose the steps it shares with the others (a PredictionEngine disposes its transformer).
            try { return engine.Predict(new ImageRow { Image = image }).Features; }
            finally { _engines.Add(engine); }
        }

        public override void Warm() => _engines.Add(Create());

        PredictionEngine<ImageRow, FeatureRow<T>> Create()
            => MlContext.Model.CreatePredictionEngine<ImageRow, FeatureRow<T>>(before, ignoreMissingColumns: true, input, _output);

        public override void Dispose()
        {
            while (_engines.TryTake(out var engine)) engine.Dispose();
        }
    }

    /// <summary>A classifier that presizes the image itself: the encoded bytes are its input, decoded in the batch.</summary>
    sealed class EncodedImage(MLContext mlContext, ImageClassifierTransformer classifier)
        : BatchScorer<byte>(mlContext, classifier, new VectorDataViewType(NumberDataViewType.Byte))
    {
        public override Array Read(byte[] image) => image;

        // The schema check (the classifier reads this column type) happens here, not in a request.
        public override void Warm() => Score([]);
    }
}
