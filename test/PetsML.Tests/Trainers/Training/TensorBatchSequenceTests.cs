using PetsML.Transforms.Batching;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

[TestClass]
public sealed class TensorBatchSequenceTests
{
    [TestMethod]
    public void Batches_cover_items_once_shuffle_by_seed_and_epoch_and_drop_last()
    {
        using var images = arange(10 * 3 * 2 * 2, dtype: ScalarType.Float32).reshape(10, 3, 2, 2);
        using var labels = arange(10, dtype: ScalarType.Int64);
        var seq = new TensorBatchSequence(images, labels, batchSize: 4, shuffle: true, dropLast: true, seed: 5);
        Assert.AreEqual(2, seq.BatchCount);
        Assert.AreEqual(8, seq.ItemCount);
        List<long> Epoch(TensorBatchSequence s, int e)
        {
            var seen = new List<long>();
            foreach (var batch in s.GetBatches(e))
                using (batch)
                {
                    var ids = batch.Labels.data<long>().ToArray();
                    // Images travel with their labels: item i's first pixel is i·12.
                    var firstPixels = batch.Images[.., 0, 0, 0].data<float>().ToArray();
                    CollectionAssert.AreEqual(ids.Select(i => i * 12f).ToArray(), firstPixels);
                    seen.AddRange(ids);
                }
            return seen;
        }
        var e0 = Epoch(seq, 0);
        Assert.AreEqual(8, e0.Distinct().Count());
        CollectionAssert.AreEqual(e0, Epoch(seq, 0), "same epoch replays the same order");
        CollectionAssert.AreEqual(e0, Epoch(new TensorBatchSequence(images, labels, 4, true, true, 5), 0), "same seed, same order");
        CollectionAssert.AreNotEqual(e0, Epoch(seq, 1), "another epoch reshuffles");

        var plain = new TensorBatchSequence(images, labels, batchSize: 4);
        Assert.AreEqual(3, plain.BatchCount);
        CollectionAssert.AreEqual(Enumerable.Range(0, 10).Select(i => (long)i).ToList(), Epoch(plain, 0));
        Assert.ThrowsExactly<ArgumentException>(() => new TensorBatchSequence(images, labels, 4, shuffle: true));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TensorBatchSequence(images, labels, 0));
    }
}
