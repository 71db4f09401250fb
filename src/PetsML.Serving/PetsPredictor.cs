using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PetsML.Serving;

namespace PetsML;

/// <summary>
/// Predictions from any number of threads over one loaded model, batched: each request decodes and presizes its image on
/// its own thread (at most <see cref="PetsPredictionOptions.MaxConcurrentPredictions"/> at once), then one worker runs
/// the network once over every image waiting (up to <see cref="PetsPredictionOptions.MaxBatchSize"/>), without waiting
/// for more. With <see cref="PetsPredictionOptions.WatchModelFile"/>, a model .zip moved into place (as
/// <c>SaveAtomically</c> does) is loaded beside the current one and swapped in; requests already running finish on the
/// model they started with, a batch never mixes models, each answer comes from exactly one model
/// (<see cref="PetsPrediction.ModelVersion"/>), and the old model is disposed when its last request ends. A file that
/// fails to load is logged and the current model stays.
/// </summary>
/// <remarks>
/// Why batches: the classifier runs one forward pass at a time, so only a larger pass uses the cores it leaves idle
/// (docs/serving.md has the measurements). What batching does to the bits is in the docs of
/// <see cref="PetsPredictionOptions.MaxBatchSize"/>.
/// </remarks>
public sealed class PetsPredictor : IDisposable
{
    readonly PetsPredictionOptions _options;
    readonly ILogger _logger;
    readonly SemaphoreSlim _slots;
    readonly PredictionBatcher _batcher;
    readonly FileSystemWatcher? _watcher;
    readonly Timer? _reloadTimer;
    readonly object _reloadGate = new();
    LoadedModel _current;
    int _version = 1;
    int _requests;
    bool _disposed;

    /// <summary>Loads the model now, so a bad path or file fails at startup rather than in the first request.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a PetsML model.</exception>
    public PetsPredictor(PetsPredictionOptions options, ILogger<PetsPredictor>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Clone();
        options.Validate();
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        var path = Path.GetFullPath(options.ModelPath);
        if (!File.Exists(path)) throw new FileNotFoundException($"PetsPredictionOptions.ModelPath: the model file '{options.ModelPath}' does not exist.", path);
        _current = Load(path, 1);
        _slots = new SemaphoreSlim(options.MaxConcurrentPredictions, options.MaxConcurrentPredictions);
        _batcher = new PredictionBatcher(options.MaxBatchSize);
        if (options.WatchModelFile)
        {
            // Bursts of events (write, rename) end in one reload, a moment after the last.
            _reloadTimer = new Timer(_ => ReloadQuietly(), null, Timeout.Infinite, Timeout.Infinite);
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler changed = (_, _) => _reloadTimer.Change(200, Timeout.Infinite);
            _watcher.Changed += changed;
            _watcher.Created += changed;
            _watcher.Renamed += (_, e) => { if (string.Equals(e.FullPath, path, StringComparison.Ordinal)) changed(null!, e); };
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>The class names of the current model, in the order of <see cref="PetsPrediction.Probabilities"/>.</summary>
    public IReadOnlyList<string> ClassNames => Volatile.Read(ref _current).Classifier.ClassNames;

    /// <summary>The current model's version: 1 for the first load, one more for each swap.</summary>
    public int ModelVersion => Volatile.Read(ref _current).Version;

    /// <summary>The model requests start on now (tests hold a lease on it to watch it drain).</summary>
    internal LoadedModel CurrentModel => Volatile.Read(ref _current);

    /// <summary>The most images one forward pass has run so far.</summary>
    internal int LargestBatch => _batcher.LargestBatch;

    /// <summary>The options this predictor was made with.</summary>
    public PetsPredictionOptions Options => _options;

    /// <summary>Predicts one encoded image (JPEG, PNG, GIF, BMP or WebP), blocking until its batch has run.</summary>
    /// <param name="image">The whole encoded file.</param>
    /// <param name="top">Labels to return; default <see cref="PetsPredictionOptions.Top"/>.</param>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, corrupt or too large; the message says which.</exception>
    public PetsPrediction Predict(byte[] image, int? top = null) => PredictAsync(image, top).GetAwaiter().GetResult();

    /// <summary>Reads an image from <paramref name="stream"/> (at most <see cref="PetsPredictionOptions.MaxImageBytes"/>) and predicts it.</summary>
    /// <exception cref="ImageDecodeException">The stream is longer than the limit (<see cref="ImageDecodeFailure.TooLarge"/>), or the image is bad.</exception>
    public async Task<PetsPrediction> PredictAsync(Stream stream, int? top = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var image = await ReadBoundedAsync(stream, _options.MaxImageBytes, cancellationToken).ConfigureAwait(false);
        return await PredictAsync(image, top, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Predicts one encoded image: waits asynchronously for a decoding slot, decodes and presizes on the calling thread,
    /// then waits for its batch. Cancelling drops the image from the queue if its batch has not started.
    /// </summary>
    public async Task<PetsPrediction> PredictAsync(byte[] image, int? top = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        int k = top ?? _options.Top;
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(top), top, "top must be at least 1.");
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        LoadedModel model;
        Array features;
        try
        {
            model = Acquire();
            try { features = Unwrapped(() => model.Features(image)); }
            catch
            {
                model.Release();
                throw;
            }
        }
        finally { _slots.Release(); }
        try
        {
            ServedScore scored;
            try { scored = await _batcher.Score(model, features, cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (Find<ImageDecodeException>(e) is { } decode && !ReferenceEquals(decode, e))
            {
                throw decode; // a model that decodes in the batch: ML.NET wraps the decoder's exception
            }
            var names = model.Classifier.ClassNames;
            var probabilities = scored.Probabilities;
            var best = Enumerable.Range(0, probabilities.Length).OrderByDescending(i => probabilities[i]).ThenBy(i => i).Take(k)
                .Select(i => new LabelProbability(names[i], probabilities[i])).ToList();
            return new PetsPrediction(best, probabilities, model.Version) { OutlierScore = scored.OutlierScore, IsUnknown = scored.IsUnknown };
        }
        finally { model.Release(); }
    }

    /// <summary>
    /// Loads the model file again and swaps it in (what the watcher does). Returns false, and keeps the current model, when
    /// the file cannot be loaded.
    /// </summary>
    public bool Reload()
    {
        lock (_reloadGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            LoadedModel next;
            try { next = Load(Path.GetFullPath(_options.ModelPath), _version + 1); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger.LogError("PetsML: kept model version {Version}: '{Path}' could not be loaded ({Reason}).", _version, _options.ModelPath, e.GetBaseException().Message);
                return false;
            }
            _version = next.Version;
            var previous = Interlocked.Exchange(ref _current, next);
            previous.Release(); // the predictor's lease: disposed once its running requests end
            _logger.LogInformation("PetsML: model version {Version} loaded from '{Path}'.", next.Version, _options.ModelPath);
            return true;
        }
    }

    /// <summary>Counts an endpoint request in, unless running and waiting ones already fill every slot and the queue.</summary>
    internal bool TryEnterRequest()
    {
        if (Interlocked.Increment(ref _requests) <= _options.MaxConcurrentPredictions + _options.MaxQueuedRequests) return true;
        Interlocked.Decrement(ref _requests);
        return false;
    }

    internal void ExitRequest() => Interlocked.Decrement(ref _requests);

    static T Unwrapped<T>(Func<T> run)
    {
        try { return run(); }
        catch (Exception e) when (Find<ImageDecodeException>(e) is { } decode && !ReferenceEquals(decode, e))
        {
            throw decode; // ML.NET may wrap it; callers catch the decoder's own exception
        }
    }

    LoadedModel Acquire()
    {
        while (true)
        {
            var model = Volatile.Read(ref _current);
            if (model.TryAcquire()) return model;
            ObjectDisposedException.ThrowIf(_disposed, this); // released by a swap: the next read sees the new model
        }
    }

    LoadedModel Load(string path, int version)
    {
        try { return LoadedModel.Load(path, version, _options); }
        catch (Exception e) when (e is not (OutOfMemoryException or InvalidDataException or FileNotFoundException))
        {
            throw new InvalidDataException($"'{path}' is not a model .zip PetsML can read ({e.GetBaseException().Message.Split('\n')[0]}).", e);
        }
    }

    void ReloadQuietly()
    {
        try { if (!_disposed) Reload(); }
        catch (ObjectDisposedException) { }
    }

    static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException) if (e is T found) return found;
        return null;
    }

    /// <summary>Reads the whole stream, refusing one longer than <paramref name="limit"/> without reading past it.</summary>
    internal static async Task<byte[]> ReadBoundedAsync(Stream stream, long limit, CancellationToken cancellationToken)
    {
        if (stream.CanSeek && stream.Length - stream.Position > limit) throw TooLarge(stream.Length - stream.Position, limit);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit) throw TooLarge(null, limit);
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    static ImageDecodeException TooLarge(long? length, long limit) => new("upload", ImageDecodeFailure.TooLarge,
        $"{(length is long n ? $"{n} bytes" : "the upload")} exceeds the limit of {limit} bytes (PetsPredictionOptions.MaxImageBytes)");

    /// <summary>
    /// Stops watching, lets the batch running finish and fails the images still queued with
    /// <see cref="ObjectDisposedException"/>; the model is disposed when the requests still holding it end.
    /// </summary>
    public void Dispose()
    {
        lock (_reloadGate)
        {
            if (_disposed) return;
            _disposed = true;
            _watcher?.Dispose();
            _reloadTimer?.Dispose();
        }
        _batcher.Dispose();
        _current.Release();
    }
}
