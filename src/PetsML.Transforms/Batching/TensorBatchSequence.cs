using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Transforms.Batching;

/// <summary>
/// An in-memory <see cref="IBatchSequence"/> over a ready images tensor [N, 3, H, W] and labels [N]: for tests and
/// benchmarks on pre-made tensors. No augmentation; optional shuffle and drop_last.
/// </summary>
/// <remarks>
/// The shuffle order of an epoch is a Fisher–Yates permutation drawn from a <see cref="Random"/> seeded with
/// seed·1000003 + epoch (see <see cref="Permutation"/>): it depends only on the seed and the epoch number, never on global state.
/// The sequence does not own <c>images</c> or <c>labels</c>: keep them alive while it is used and dispose them
/// yourself. Each yielded <see cref="ImageBatch"/> owns fresh copies.
/// </remarks>
internal sealed class TensorBatchSequence : IBatchSequence
{
    private readonly Tensor _images;
    private readonly Tensor _labels;
    private readonly int _count;

    /// <param name="images">Float images [N, 3, H, W] (any float dtype, already normalised).</param>
    /// <param name="labels">Class indices [N], int64.</param>
    /// <param name="batchSize">Items per batch; must be ≥ 1.</param>
    /// <param name="shuffle">Reorder items every epoch (training); false keeps the given order (validation).</param>
    /// <param name="dropLast">Drop the last incomplete batch (fastai does so for training).</param>
    /// <param name="seed">Seed of the shuffle; required when <paramref name="shuffle"/> is true.</param>
    public TensorBatchSequence(Tensor images, Tensor labels, int batchSize, bool shuffle = false, bool dropLast = false, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.dim() != 4)
            throw new ArgumentException($"images must be [N, C, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"images must be a floating-point tensor; got {images.dtype}.", nameof(images));
        if (labels.dim() != 1 || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"labels must be a 1-D int64 tensor; got {labels.dtype} [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels has {labels.shape[0]} items but images has {images.shape[0]}.", nameof(labels));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        if (shuffle && seed is null) throw new ArgumentException("A shuffled sequence needs a seed, so its order can be replayed.", nameof(seed));
        _images = images;
        _labels = labels;
        _count = (int)images.shape[0];
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed ?? 0;
    }

    /// <summary>Items per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch reorders the items.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether the last incomplete batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Seed of the shuffle.</summary>
    public int Seed { get; }

    public int BatchCount => DropLast ? _count / BatchSize : (_count + BatchSize - 1) / BatchSize;

    public int ItemCount => DropLast ? BatchCount * BatchSize : _count;

    /// <summary>The item order of <paramref name="epoch"/>: identity without shuffle, else a seeded permutation.</summary>
    public int[] Permutation(int epoch)
    {
        var order = Enumerable.Range(0, _count).ToArray();
        if (!Shuffle) return order;
        // One seed per (seed, epoch) pair. Not HashCode.Combine: it is randomised per process.
        // System.Random with an explicit seed gives the same sequence in every run and .NET version.
        var rng = new Random(unchecked(Seed * 1_000_003 + epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    public IEnumerable<ImageBatch> GetBatches(int epoch, CancellationToken cancellationToken = default)
    {
        var order = Permutation(epoch);
        for (int b = 0; b < BatchCount; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = b * BatchSize;
            int size = Math.Min(BatchSize, _count - start);
            var indices = order.AsSpan(start, size).ToArray().Select(i => (long)i).ToArray();
            ImageBatch batch;
            using (var scope = NewDisposeScope())
            {
                using var index = tensor(indices, ScalarType.Int64);
                // The batch owns its tensors (the consumer disposes it), so they belong to no dispose scope.
                var images = _images.index_select(0, index).DetachFromDisposeScope();
                var labels = _labels.index_select(0, index).DetachFromDisposeScope();
                batch = new ImageBatch(images, labels);
            }
            yield return batch;
        }
    }
}
