using System.Collections.Concurrent;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Transforms.Batching;

/// <summary>Options of <see cref="ImageBatchSource"/>, with fastai's DataLoader defaults.</summary>
internal sealed class BatchSourceOptions
{
    /// <summary>Items per batch. Default 64 (fastai's bs).</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Threads that decode and presize. Default: the number of processors.</summary>
    public int DecodeThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>Whether preparation alternates with training or overlaps it. Default <see cref="BatchPreparation.Alternate"/>.</summary>
    public BatchPreparation Preparation { get; set; } = BatchPreparation.Alternate;

    /// <summary>
    /// Keep decoded images in memory after the first epoch (about 0.56 MB per 500×375 photo), so later
    /// epochs only crop, resize and augment, up to <see cref="DecodedCacheBytes"/> (default 0: nothing is kept). Default true.
    /// </summary>
    public bool CacheDecodedImages { get; set; } = true;

    /// <summary>The default <see cref="DecodedCacheBytes"/>: 0, decode every epoch (as fastai does).</summary>
    public const long DefaultDecodedCacheBytes = 0;

    /// <summary>
    /// The memory budget of the decoded-image cache, in bytes of pixels: the first images decoded are kept until it is
    /// reached, the rest are decoded again every epoch, so memory never grows with the data set beyond it. Default 0:
    /// every epoch decodes again, like fastai: cheap beside a CPU training step, and it keeps peak memory below the
    /// reference's (the project's bench/README.md, "Peak memory"). Raise it (512 MiB holds about 950 photos of
    /// 500×375) when decoding is the bottleneck, as on a GPU.
    /// </summary>
    public long DecodedCacheBytes { get; set; } = DefaultDecodedCacheBytes;

    /// <summary>Seed of the shuffle, the crop positions and the augmentation. Default 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Device the batches are put on (augmentation runs there). Default cpu.</summary>
    public torch.Device? Device { get; set; }

    internal void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
        if (DecodeThreads < 1) throw new ArgumentOutOfRangeException(nameof(DecodeThreads), DecodeThreads, "DecodeThreads must be at least 1.");
        if (DecodedCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(DecodedCacheBytes), DecodedCacheBytes, "DecodedCacheBytes must be ≥ 0.");
    }
}

/// <summary>An image and its class index (0-based, in vocabulary order).</summary>
internal sealed record LabeledImage(ImageSource Source, int Label);

/// <summary>
/// The batches the trainer consumes, like fastai's DataLoader over the DataBlock: training batches are
/// shuffled, drop the last partial batch, get a random presize crop and the random augmentation;
/// validation batches keep their order, keep every item and get the deterministic path only.
/// Decoding and presizing run on <see cref="BatchSourceOptions.DecodeThreads"/> threads.
/// </summary>
internal sealed class ImageBatchSource : IBatchSequence
{
    const int ShuffleStream = 1, CropStream = 2, AugmentStream = 3;

    readonly IReadOnlyList<LabeledImage> _items;
    // Presize buffers of one item each, reused across batches (at most DecodeThreads kept; see Prepare).
    readonly System.Collections.Concurrent.ConcurrentBag<byte[]> _itemBuffers = new();
    readonly PresizeTransformer _presize;
    readonly BatchAugmenter _augmenter;
    readonly BatchSourceOptions _options;
    readonly DecodedCache _cache;
    readonly bool _augmented;

    /// <summary>The decoded images kept between epochs and their bytes; views of one source (TTA, other sizes) share it.</summary>
    sealed class DecodedCache
    {
        public readonly ConcurrentDictionary<int, RgbImage> Images = new();
        public long Bytes;
    }

    public ImageBatchSource(IReadOnlyList<LabeledImage> items, PresizeTransformer presize, BatchAugmenter augmenter, bool training, BatchSourceOptions? options = null)
        : this(items, presize, augmenter, training, augmented: training, options, new DecodedCache())
    {
    }

    ImageBatchSource(IReadOnlyList<LabeledImage> items, PresizeTransformer presize, BatchAugmenter augmenter, bool training, bool augmented,
        BatchSourceOptions? options, DecodedCache cache)
    {
        _augmented = augmented;
        _cache = cache;
        ArgumentNullException.ThrowIfNull(items);
        _options = options ?? new BatchSourceOptions();
        _options.Validate();
        _items = items;
        _presize = presize;
        _augmenter = augmenter;
        IsTraining = training;
        if (items.Count == 0)
            throw new ArgumentException($"The {(training ? "training" : "validation")} set is empty.", nameof(items));
        if (training && items.Count < _options.BatchSize)
            throw new ArgumentException(
                $"The training set has {items.Count} images, fewer than one batch of {_options.BatchSize}: with drop_last no batch would remain. Lower BatchSize.",
                nameof(items));
    }

    /// <summary>True for the training split (shuffle, drop_last, random path).</summary>
    public bool IsTraining { get; }

    /// <summary>
    /// For test-time augmentation (fastai's <c>tta</c>, which runs the validation items through the training
    /// transforms): the same items in the same order, every one kept, with the training path's random presize crop
    /// and augmentation, drawn from the seed and the epoch number.
    /// </summary>
    public ImageBatchSource WithTrainingAugmentation() => new(_items, _presize, _augmenter, training: false, augmented: true, _options, _cache);

    /// <summary>
    /// For progressive resizing (fastbook chapter 7): the same items, order, seeds and decoded-image cache (no image is
    /// decoded or kept twice), augmented by <paramref name="augmenter"/>, e.g. one with a smaller
    /// <see cref="AugmentOptions.Size"/>. The caller keeps owning <paramref name="augmenter"/>.
    /// </summary>
    public ImageBatchSource WithAugmenter(BatchAugmenter augmenter) =>
        new(_items, _presize, augmenter ?? throw new ArgumentNullException(nameof(augmenter)), IsTraining, _augmented, _options, _cache);

    /// <summary>Side of the square images the batches hold (the augmenter's <see cref="AugmentOptions.Size"/>).</summary>
    public int ImageSize => _augmenter.Settings.Size;

    public IReadOnlyList<LabeledImage> Items => _items;

    public BatchSourceOptions Options => _options;

    public int BatchCount => IsTraining ? _items.Count / _options.BatchSize : (_items.Count + _options.BatchSize - 1) / _options.BatchSize;

    /// <summary>Bytes of pixels the decoded-image cache holds now (at most <see cref="BatchSourceOptions.DecodedCacheBytes"/>).</summary>
    public long CachedBytes => Interlocked.Read(ref _cache.Bytes);

    public int ItemCount => IsTraining ? BatchCount * _options.BatchSize : _items.Count;

    public IEnumerable<ImageBatch> GetBatches(int epoch, CancellationToken cancellationToken = default)
    {
        var order = Order(epoch);
        return _options.Preparation == BatchPreparation.Overlap
            ? Overlapped(order, epoch, cancellationToken)
            : Alternating(order, epoch, cancellationToken);
    }

    IEnumerable<ImageBatch> Alternating(int[] order, int epoch, CancellationToken cancellationToken)
    {
        for (int b = 0; b < BatchCount; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Prepare(order, epoch, b);
        }
    }

    IEnumerable<ImageBatch> Overlapped(int[] order, int epoch, CancellationToken cancellationToken)
    {
        using var queue = new BlockingCollection<ImageBatch>(boundedCapacity: 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() =>
        {
            try
            {
                for (int b = 0; b < BatchCount && !stop.IsCancellationRequested; b++)
                {
                    var batch = Prepare(order, epoch, b);
                    try { queue.Add(batch, stop.Token); }
                    catch (OperationCanceledException) { batch.Dispose(); break; }
                }
            }
            finally { queue.CompleteAdding(); }
        });
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable(cancellationToken))
                yield return batch;
            producer.GetAwaiter().GetResult(); // surfaces a decode error with its file name
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
            while (queue.TryTake(out var left)) left.Dispose();
        }
    }

    /// <summary>The item order of one epoch: a seeded permutation on training, the given order on validation.</summary>
    int[] Order(int epoch)
    {
        if (!IsTraining) return Enumerable.Range(0, _items.Count).ToArray();
        using var generator = new torch.Generator((ulong)SeedSequence.Derive(_options.Seed, ShuffleStream, epoch));
        using var permutation = torch.randperm(_items.Count, generator: generator, dtype: torch.int64);
        return permutation.data<long>().Select(i => (int)i).ToArray();
    }

    /// <summary>Decodes, presizes and augments batch <paramref name="batchIndex"/> of an epoch.</summary>
    ImageBatch Prepare(int[] order, int epoch, int batchIndex)
    {
        int start = batchIndex * _options.BatchSize;
        int count = Math.Min(_options.BatchSize, order.Length - start);
        int height = _presize.Height, width = _presize.Width;
        int itemBytes = 3 * height * width;
        var labels = new long[count];

        // Crop positions are drawn up front, in item order, so threads do not change them.
        var random = new Random((int)(SeedSequence.Derive(_options.Seed, CropStream, epoch, batchIndex) & int.MaxValue));
        var pcts = new (double X, double Y)[count];
        for (int i = 0; i < count; i++)
            pcts[i] = _augmented ? (random.NextDouble(), random.NextDouble()) : (0.5, 0.5);

        // Each item is presized into a reused buffer (one per decoding thread) and copied into the batch tensor: no managed N×3×H×W array per
        // batch (20 MB at batch 32 and 460 px) waiting on the large-object heap for a collection.
        using var scope = torch.NewDisposeScope();
        var raw = torch.empty(new long[] { count, 3, height, width }, dtype: torch.uint8);
        var pixels = raw.data<byte>();
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _options.DecodeThreads }, i =>
            {
                int index = order[start + i];
                var item = _items[index];
                var image = Decoded(index, item);
                var buffer = _itemBuffers.TryTake(out var kept) && kept.Length == itemBytes ? kept : new byte[itemBytes];
                Presizer.Presize(image, _presize.Settings, pcts[i].X, pcts[i].Y, buffer);
                pixels.CopyFrom(buffer, 0, (long)i * itemBytes);
                if (_itemBuffers.Count < _options.DecodeThreads) _itemBuffers.Add(buffer);
                labels[i] = item.Label;
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault(x => x is ImageDecodeException) is { } decode)
        {
            // One clear error naming the first bad file, not a wrapper from the thread pool.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(decode).Throw();
            throw;
        }

        var device = _options.Device ?? torch.CPU;
        raw = raw.to(device);
        torch.Tensor images;
        if (_augmented)
        {
            using var generator = new torch.Generator((ulong)SeedSequence.Derive(_options.Seed, AugmentStream, epoch, batchIndex));
            images = _augmenter.Training(raw, generator);
        }
        else
        {
            images = _augmenter.Validation(raw);
        }
        var targets = torch.tensor(labels, dtype: torch.int64).to(device);
        return new ImageBatch(images.MoveToOuterDisposeScope(), targets.MoveToOuterDisposeScope());
    }

    RgbImage Decoded(int index, LabeledImage item)
    {
        if (_cache.Images.TryGetValue(index, out var cached)) return cached;
        var image = item.Source.Decode(_presize.DecodeOptions);
        if (!_options.CacheDecodedImages) return image;
        // Reserve the bytes first, so threads racing for the last of the budget cannot overshoot it together.
        long bytes = image.Pixels.LongLength;
        if (Interlocked.Add(ref _cache.Bytes, bytes) > _options.DecodedCacheBytes)
        {
            Interlocked.Add(ref _cache.Bytes, -bytes);
            return image;
        }
        // The kept copy goes to the pinned-object heap: interleaved with the short-lived decodes and batch arrays on the
        // ordinary heap, long-lived pixels left it fragmented (bench/README.md, "Peak memory").
        var pixels = GC.AllocateUninitializedArray<byte>(image.Pixels.Length, pinned: true);
        image.Pixels.CopyTo(pixels, 0);
        var kept = new RgbImage(image.Width, image.Height, pixels);
        if (!_cache.Images.TryAdd(index, kept)) Interlocked.Add(ref _cache.Bytes, -bytes);
        return kept;
    }
}
