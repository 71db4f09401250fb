using PetsML.Tests.Support;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;
using SkiaSharp;
using TorchSharp;

namespace PetsML.Tests.Transforms.Batching;

[TestClass]
public sealed class ImageBatchSourceTests
{
    static TempFolder _folder = null!;
    static List<LabeledImage> _items = null!;

    [ClassInitialize]
    public static void MakeImages(TestContext _)
    {
        _folder = new TempFolder("petsml-batches");
        var paths = TestImages.WriteShapeDataset(_folder.Path, perClass: 7, width: 40, height: 30);
        // The label is recoverable from the pixels' dominant colour, so tests can check image/label pairing.
        _items = paths.Select((p, i) => new LabeledImage(ImageSource.FromFile(p), i / 7)).ToList();
    }

    [ClassCleanup]
    public static void Remove() => _folder.Dispose();

    static ImageBatchSource Source(bool training, BatchPreparation preparation = BatchPreparation.Alternate, int seed = 5)
    {
        var presize = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = 32 }, new ImageDecodeOptions());
        var augmenter = new BatchAugmenter(new AugmentOptions { Size = 24 });
        return new ImageBatchSource(_items, presize, augmenter, training,
            new BatchSourceOptions { BatchSize = 4, Seed = seed, Preparation = preparation, DecodeThreads = 2 });
    }

    static (float[] Images, long[] Labels)[] Epoch(ImageBatchSource source, int epoch)
        => source.GetBatches(epoch).Select(b => { using (b) return (b.Images.data<float>().ToArray(), b.Labels.data<long>().ToArray()); }).ToArray();

    [TestMethod]
    public void Training_batches_are_shuffled_drop_the_last_partial_batch_and_replay_by_epoch()
    {
        var source = Source(training: true);
        Assert.AreEqual(21 / 4, source.BatchCount);
        Assert.AreEqual(20, source.ItemCount);
        var first = Epoch(source, 0);
        Assert.AreEqual(5, first.Length);
        Assert.IsTrue(first.All(b => b.Labels.Length == 4));
        var again = Epoch(source, 0);
        for (int b = 0; b < first.Length; b++)
        {
            CollectionAssert.AreEqual(first[b].Labels, again[b].Labels);
            CollectionAssert.AreEqual(first[b].Images, again[b].Images, "the same epoch replays the same augmented batch");
        }
        var second = Epoch(source, 1);
        Assert.IsFalse(first.SelectMany(b => b.Labels).SequenceEqual(second.SelectMany(b => b.Labels)) &&
                       first[0].Images.SequenceEqual(second[0].Images), "another epoch draws another order and augmentation");
        var labels = first.SelectMany(b => b.Labels).ToArray();
        Assert.IsFalse(labels.SequenceEqual(labels.Order()), "training order is shuffled");
    }

    [TestMethod]
    public void Validation_batches_keep_order_and_every_item_and_are_deterministic()
    {
        var source = Source(training: false);
        Assert.AreEqual(6, source.BatchCount);
        var batches = Epoch(source, 0);
        CollectionAssert.AreEqual(_items.Select(i => (long)i.Label).ToArray(), batches.SelectMany(b => b.Labels).ToArray());
        Assert.AreEqual(1, batches[^1].Labels.Length, "the last partial batch is kept");
        var other = Epoch(source, 3);
        CollectionAssert.AreEqual(batches[0].Images, other[0].Images, "validation does not depend on the epoch");
    }

    [TestMethod]
    public void Overlapped_preparation_yields_the_same_batches_as_alternating()
    {
        var alternate = Epoch(Source(true, BatchPreparation.Alternate), 2);
        var overlap = Epoch(Source(true, BatchPreparation.Overlap), 2);
        Assert.AreEqual(alternate.Length, overlap.Length);
        for (int b = 0; b < alternate.Length; b++)
        {
            CollectionAssert.AreEqual(alternate[b].Labels, overlap[b].Labels);
            CollectionAssert.AreEqual(alternate[b].Images, overlap[b].Images);
        }
    }

    [TestMethod]
    public void A_corrupt_file_stops_the_epoch_with_its_name()
    {
        using var folder = new TempFolder();
        var bad = Path.Combine(folder.Path, "broken_1.jpg");
        File.WriteAllBytes(bad, File.ReadAllBytes(_items[0].Source.Name).Take(100).ToArray());
        var items = _items.Take(3).Append(new LabeledImage(ImageSource.FromFile(bad), 0)).ToList();
        var presize = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = 32 }, new ImageDecodeOptions());
        var source = new ImageBatchSource(items, presize, new BatchAugmenter(new AugmentOptions { Size = 24 }), training: false,
            new BatchSourceOptions { BatchSize = 4 });
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => Epoch(source, 0));
        StringAssert.Contains(e.Message, "broken_1.jpg");
    }

    [TestMethod]
    public void No_tensor_is_left_behind_across_epochs()
    {
        // Counted inside a dispose scope: a tensor the source forgets to dispose stays in the scope (which also
        // keeps the garbage collector from finalising it), so the count does not depend on when the GC runs.
        // The process-wide TotalCount is only checked not to grow: finalizers of earlier tests' garbage may
        // lower it at any time, never raise it.
        using var scope = torch.NewDisposeScope();
        var source = Source(training: true);
        Epoch(source, 0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int scopedBefore = scope.DisposablesCount;
        long liveBefore = torch.Tensor.TotalCount;
        for (int epoch = 1; epoch <= 3; epoch++) Epoch(source, epoch);
        Assert.AreEqual(scopedBefore, scope.DisposablesCount, "tensors left behind by three more epochs");
        Assert.IsTrue(torch.Tensor.TotalCount <= liveBefore, $"live tensors grew from {liveBefore} to {torch.Tensor.TotalCount}");
    }
}
