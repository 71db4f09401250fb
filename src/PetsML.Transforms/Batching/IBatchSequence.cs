using TorchSharp;

namespace PetsML.Transforms.Batching;

/// <summary>
/// One split's batches for one epoch at a time: what a training loop consumes.
/// The seam between the data side (PetsML.Transforms) and the trainer (PetsML.Trainers).
/// </summary>
internal interface IBatchSequence
{
    /// <summary>Number of batches one epoch yields (with drop_last on training, fewer than ⌈items/batch⌉).</summary>
    int BatchCount { get; }

    /// <summary>Number of items one epoch covers (after drop_last).</summary>
    int ItemCount { get; }

    /// <summary>
    /// The batches of one epoch. Random choices (shuffle, crop position, augmentation) depend only on
    /// the sequence's seed and <paramref name="epoch"/>, so the same epoch number replays the same batches.
    /// Each yielded batch owns its tensors; the consumer disposes it.
    /// </summary>
    IEnumerable<ImageBatch> GetBatches(int epoch, CancellationToken cancellationToken = default);
}

/// <summary>A batch of images (float32, N×3×H×W, normalised) and their class indices (int64, N).</summary>
internal sealed class ImageBatch : IDisposable
{
    public ImageBatch(torch.Tensor images, torch.Tensor labels)
    {
        Images = images;
        Labels = labels;
    }

    /// <summary>N×3×H×W float32, normalised for the model.</summary>
    public torch.Tensor Images { get; }

    /// <summary>N class indices, int64, 0-based in vocabulary order.</summary>
    public torch.Tensor Labels { get; }

    /// <summary>Number of items in the batch.</summary>
    public int Count => (int)Labels.shape[0];

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
