using PetsML.Tests.Support;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Batching;

/// <summary>The validation items with the training augmentation, for test-time augmentation.</summary>
[TestClass]
public sealed class TtaSourceTests
{
    [TestMethod]
    public void With_training_augmentation_keeps_every_validation_item_in_order_and_draws_new_augmentation_each_epoch()
    {
        using var folder = new TempFolder("petsml-tta");
        var paths = TestImages.WriteShapeDataset(folder.Path, perClass: 5, width: 40, height: 30);
        var items = paths.Select((p, i) => new LabeledImage(ImageSource.FromFile(p), i / 5)).ToList();
        var presize = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = 32 }, new ImageDecodeOptions());
        var augmenter = new BatchAugmenter(new AugmentOptions { Size = 24 });
        var plain = new ImageBatchSource(items, presize, augmenter, training: false, new BatchSourceOptions { BatchSize = 4, Seed = 3, DecodeThreads = 1 });
        var augmented = plain.WithTrainingAugmentation();

        static (float[] Images, long[] Labels) Epoch(IBatchSequence source, int epoch)
        {
            var batches = source.GetBatches(epoch).Select(b => { using (b) return (b.Images.data<float>().ToArray(), b.Labels.data<long>().ToArray()); }).ToList();
            return (batches.SelectMany(b => b.Item1).ToArray(), batches.SelectMany(b => b.Item2).ToArray());
        }

        var p0 = Epoch(plain, 0);
        var a0 = Epoch(augmented, 0);
        var a0Again = Epoch(augmented, 0);
        var a1 = Epoch(augmented, 1);
        Assert.AreEqual(plain.ItemCount, augmented.ItemCount);
        CollectionAssert.AreEqual(items.Select(i => (long)i.Label).ToArray(), a0.Labels, "every item, in the given order (no shuffle, no drop_last)");
        CollectionAssert.AreEqual(p0.Labels, a1.Labels);
        Assert.AreEqual(p0.Images.Length, a0.Images.Length, "the same image size as validation");
        CollectionAssert.AreEqual(a0.Images, a0Again.Images, "an epoch's augmentation repeats");
        CollectionAssert.AreNotEqual(p0.Images, a0.Images, "augmented, unlike the validation path");
        CollectionAssert.AreNotEqual(a0.Images, a1.Images, "each epoch draws new augmentation");
    }
}
