using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace PetsML.Serving;

/// <summary>
/// One load of the model file and its pool of PredictionEngines. Leases count the requests using it plus one for the
/// predictor while it is current; the engines and the model are disposed when the last lease ends, so a request that
/// started on this model finishes on it even after a newer one has been swapped in.
/// </summary>
internal sealed class LoadedModel
{
    /// <summary>The encoded image handed to the pipeline (a vector of bytes, under the image column's name).</summary>
    internal sealed class ImageRow
    {
        public byte[] Image { get; set; } = [];
    }

    /// <summary>The classifier's probabilities (under its score column's name).</summary>
    internal sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
    }

    readonly MLContext _mlContext;
    readonly ITransformer _loaded;
    readonly ITransformer _imageSteps;
    readonly SchemaDefinition _input, _output;
    readonly ConcurrentBag<PredictionEngine<ImageRow, ScoreRow>> _engines = [];
    int _leases = 1;

    LoadedModel(MLContext mlContext, ITransformer loaded, ITransformer imageSteps, ImageClassifierTransformer classifier, string imageColumn, int version)
    {
        _mlContext = mlContext;
        _loaded = loaded;
        _imageSteps = imageSteps;
        Classifier = classifier;
        Version = version;
        _input = SchemaDefinition.Create(typeof(ImageRow));
        _input[nameof(ImageRow.Image)].ColumnName = imageColumn;
        _output = SchemaDefinition.Create(typeof(ScoreRow));
        _output[nameof(ScoreRow.Score)].ColumnName = classifier.ScoreColumnName;
    }

    public ImageClassifierTransformer Classifier { get; }

    public int Version { get; }

    /// <summary>
    /// Loads <paramref name="path"/> and keeps the part of the pipeline that reads the image: from its first Presize step
    /// (a model trained from file paths labels and splits them first, which a served image needs neither of), or from the
    /// classifier when it presizes the image itself (ML.NET's image-bytes shape).
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
            int first = steps.FindIndex(t => t is PresizeTransformer);
            string imageColumn;
            if (first >= 0 && first < steps.IndexOf(classifier)) imageColumn = ((PresizeTransformer)steps[first]).InputColumnName;
            else (first, imageColumn) = (steps.IndexOf(classifier), classifier.FeatureColumnName);
            if (options.InferenceThreads is int threads) classifier.InferenceThreads = threads;
            if (options.InferencePrecision is TrainingPrecision precision) classifier.InferencePrecision = precision;
            if (options.InferenceChannelsLast is bool channelsLast) classifier.InferenceChannelsLast = channelsLast;
            var imageSteps = new TransformerChain<ITransformer>(steps.Skip(first).ToArray());
            var model = new LoadedModel(mlContext, loaded, imageSteps, classifier, imageColumn, version);
            model.Return(model.CreateEngine()); // fails here, not in a request, when the image steps do not read bytes
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
        while (_engines.TryTake(out var engine)) engine.Dispose();
        (_loaded as IDisposable)?.Dispose();
    }

    /// <summary>Class probabilities for one encoded image (call with a lease held).</summary>
    public float[] Score(byte[] image)
    {
        if (!_engines.TryTake(out var engine)) engine = CreateEngine();
        // Back to the pool even when the image was bad: each Predict reads a new row. Disposing one engine early would
        // dispose the image steps it shares with the others (a PredictionEngine disposes its transformer).
        try { return engine.Predict(new ImageRow { Image = image }).Score; }
        finally { Return(engine); }
    }

    PredictionEngine<ImageRow, ScoreRow> CreateEngine()
        => _mlContext.Model.CreatePredictionEngine<ImageRow, ScoreRow>(_imageSteps, ignoreMissingColumns: true, _input, _output);

    void Return(PredictionEngine<ImageRow, ScoreRow> engine) => _engines.Add(engine);
}
