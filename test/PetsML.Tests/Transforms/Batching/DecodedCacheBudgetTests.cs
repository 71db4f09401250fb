using PetsML.Tests.Support;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Batching;

/// <summary>The decoded-image cache stops at its memory budget; images beyond it are decoded again and give the same batches.</summary>
[TestClass]
public sealed class DecodedCacheBudgetTests
{
    const int Width = 40, Height = 30;

    [TestMethod]
    public void The_cache_holds_no_more_than_its_budget_and_the_batches_do_not_change()
    {
        using var folder = new TempFolder("petsml-cache-budget");
        var paths = TestImages.WriteShapeDataset(folder.Path, perClass: 6, width: Width, height: Height);
        var items = paths.Select((p, i) => new LabeledImage(ImageSource.FromFile(p), i / 6)).ToList();
        var presize = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = 32 }, new ImageDecodeOptions());
        long imageBytes = items[0].Source.Decode(presize.DecodeOptions).Pixels.LongLength; // every test image has the same size
        ImageBatchSource Source(long budget) => new(items, presize,
            new BatchAugmenter(new AugmentOptions { Size = 24 }), training: true,
            new BatchSourceOptions { BatchSize = 4, Seed = 3, DecodeThreads = 2, DecodedCacheBytes = budget });

        var unbounded = Source(long.MaxValue);
        var bounded = Source(5 * imageBytes + imageBytes / 2); // room for 5 of the 18 images
        var nothing = Source(0);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = Pixels(unbounded, epoch);
            CollectionAssert.AreEqual(expected, Pixels(bounded, epoch), $"epoch {epoch}: a bounded cache gives the same batches");
            CollectionAssert.AreEqual(expected, Pixels(nothing, epoch), $"epoch {epoch}: no cache gives the same batches");
        }
        // An epoch uses 16 of the 18 images (4 batches of 4, drop_last); two shuffled epochs use at least those.
        Assert.IsTrue(unbounded.CachedBytes >= 16 * imageBytes, $"the unbounded cache keeps every image used; holds {unbounded.CachedBytes} bytes");
        Assert.AreEqual(5 * imageBytes, bounded.CachedBytes, "the bounded cache filled up to its budget and stopped");
        Assert.AreEqual(0L, nothing.CachedBytes);
    }

    static float[] Pixels(ImageBatchSource source, int epoch) =>
        source.GetBatches(epoch).SelectMany(b => { using (b) return b.Images.data<float>().ToArray(); }).ToArray();
}
