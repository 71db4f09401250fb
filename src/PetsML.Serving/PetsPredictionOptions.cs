namespace PetsML;

/// <summary>Settings of a <see cref="PetsPredictor"/> and of the endpoint <c>MapPetsMLPredictions</c> adds.</summary>
public sealed class PetsPredictionOptions
{
    /// <summary>The documented default of each option, written once.</summary>
    public static class Defaults
    {
        /// <summary>Labels returned per image, most probable first.</summary>
        public const int Top = 3;

        /// <summary>Largest upload the endpoint reads: 10 MiB (a 500-pixel pet photo is about 50 KB).</summary>
        public const long MaxImageBytes = 10L << 20;

        /// <summary>Requests the endpoint lets wait for a prediction slot before it answers 503.</summary>
        public const int MaxQueuedRequests = 64;

        /// <summary>True: a new model file written atomically replaces the loaded model.</summary>
        public const bool WatchModelFile = true;

        /// <summary>Most images in one forward pass.</summary>
        public const int MaxBatchSize = 32;
    }

    /// <summary>The model .zip (saved with <c>mlContext.Model.Save</c> or <c>SaveAtomically</c>). Required.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Labels returned per image (at most the number of classes). Default <see cref="Defaults.Top"/>.</summary>
    public int Top { get; set; } = Defaults.Top;

    /// <summary>
    /// Images decoding and presizing at once, each on its request's thread; the rest wait. Each holds one decoded image
    /// (bounded by the model's <see cref="ImageDecodeOptions.MaxPixels"/>), so this bounds the memory of decoding. Default:
    /// the processor count.
    /// </summary>
    public int MaxConcurrentPredictions { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Most images the batch worker runs through the network in one forward pass: everything waiting when the previous
    /// pass ends, up to this many (it never waits for more). Default <see cref="Defaults.MaxBatchSize"/>.
    /// </summary>
    /// <remarks>
    /// Batching moves the last bits: libtorch's CPU kernels group a batch's rows by the batch's size, so an image's
    /// probabilities in a batch differ from the same image predicted alone by float rounding (at most 1e-6 on the tests'
    /// model); the same batch always gives the same bits. A batch of one is exactly the single prediction, so 1 makes
    /// concurrent predictions equal single-threaded ones bit for bit, at the throughput of one image a pass.
    /// </remarks>
    public int MaxBatchSize { get; set; } = Defaults.MaxBatchSize;

    /// <summary>Requests the endpoint lets wait for a slot; more are answered 503. Default <see cref="Defaults.MaxQueuedRequests"/>.</summary>
    public int MaxQueuedRequests { get; set; } = Defaults.MaxQueuedRequests;

    /// <summary>Largest image the endpoint and <see cref="PetsPredictor.PredictAsync(Stream, int?, CancellationToken)"/> read; larger ones get 413. Default <see cref="Defaults.MaxImageBytes"/>.</summary>
    public long MaxImageBytes { get; set; } = Defaults.MaxImageBytes;

    /// <summary>Watch <see cref="ModelPath"/> and swap in a new model written there atomically. Default <see cref="Defaults.WatchModelFile"/>.</summary>
    public bool WatchModelFile { get; set; } = Defaults.WatchModelFile;

    /// <summary>
    /// libtorch threads for one image's forward pass (<see cref="ImageClassifierTransformer.InferenceThreads"/>). Default null:
    /// the classifier's own default, one thread an image.
    /// </summary>
    public int? InferenceThreads { get; set; }

    /// <summary>
    /// The precision forward passes run in (<see cref="ImageClassifierTransformer.InferencePrecision"/>). Default null: the
    /// classifier's default, fp32.
    /// </summary>
    public TrainingPrecision? InferencePrecision { get; set; }

    /// <summary>Channels-last batches (<see cref="ImageClassifierTransformer.InferenceChannelsLast"/>). Default null: the classifier's default, off.</summary>
    public bool? InferenceChannelsLast { get; set; }

    /// <summary>Checks every option and throws on the first invalid one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath)) throw new ArgumentException("PetsPredictionOptions.ModelPath must name the model .zip.", nameof(ModelPath));
        if (Top < 1) throw new ArgumentOutOfRangeException(nameof(Top), Top, "PetsPredictionOptions.Top must be at least 1.");
        if (MaxConcurrentPredictions < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrentPredictions), MaxConcurrentPredictions, "PetsPredictionOptions.MaxConcurrentPredictions must be at least 1.");
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "PetsPredictionOptions.MaxBatchSize must be at least 1.");
        if (MaxQueuedRequests < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueuedRequests), MaxQueuedRequests, "PetsPredictionOptions.MaxQueuedRequests must not be negative.");
        if (MaxImageBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxImageBytes), MaxImageBytes, "PetsPredictionOptions.MaxImageBytes must be at least 1.");
        if (InferenceThreads is < 1) throw new ArgumentOutOfRangeException(nameof(InferenceThreads), InferenceThreads, "PetsPredictionOptions.InferenceThreads must be at least 1, or null.");
    }

    /// <summary>A copy, so the predictor keeps the settings it was made with whatever the caller changes later.</summary>
    internal PetsPredictionOptions Clone() => (PetsPredictionOptions)MemberwiseClone();
}
