using PetsML.Tests.Support;
using PetsML.Tests.Trainers.Training;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using PetsML.Trainers.Tricks;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Tricks;

/// <summary>Progressive resizing inside one fine_tune: small images first, then the final size, from one decoded cache.</summary>
[TestClass]
public sealed class ProgressiveResizingTests
{
    /// <summary>Per batch: whether the learner was frozen, the fit's epoch, training or validation, and the images' side.</summary>
    sealed class Sizes : ILearnerCallback
    {
        public int Order => CallbackOrder.Resume + 1;
        public List<(bool Frozen, int Epoch, bool Training, long Side)> Seen { get; } = [];
        public void BeforeBatch(TrainingContext context) =>
            Seen.Add((!context.Learner.ParameterGroups[0].Parameters[0].Parameter.requires_grad, context.Epoch, context.IsTraining, context.Images!.shape[2]));
    }

    [TestMethod]
    public void The_first_epochs_train_and_validate_small_the_rest_at_the_final_size_and_the_run_still_learns()
    {
        using var folder = new TempFolder("petsml-progressive");
        var paths = TestImages.WriteShapeDataset(folder.Path, perClass: 16, width: 40, height: 30);
        var items = paths.Select((p, i) => new LabeledImage(ImageSource.FromFile(p), i / 16)).ToList();
        var train = items.Where((_, i) => i % 4 != 0).ToList();
        var valid = items.Where((_, i) => i % 4 == 0).ToList();
        var presize = new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = 40 }, new ImageDecodeOptions());
        var augment = new AugmentOptions { Size = 32 };
        using var augmenter = new BatchAugmenter(augment);
        var batches = new BatchSourceOptions { BatchSize = 6, Seed = 3, DecodeThreads = 1, Device = CPU };
        var trainSource = new ImageBatchSource(train, presize, augmenter, training: true, batches);
        var validSource = new ImageBatchSource(valid, presize, augmenter, training: false, batches);
        using var progressive = new ProgressiveResizing(augment, trainSource, validSource, smallSize: 16, smallEpochs: 2, freezeEpochs: 1);
        var sizes = new Sizes();
        using var model = new TinyCnn(4);
        using var learner = new Learner(model, model.Groups(), progressive.Train, progressive.Valid,
            new LearnerOptions { Compute = { Device = "cpu" }, Callbacks = [progressive, sizes] });

        using var before = learner.GetPreds(validSource);
        Assert.AreEqual(16, progressive.CurrentSize, "before fine_tune: the size of its first epoch");
        learner.FineTune(epochs: 3, baseLr: 1e-1, freezeEpochs: 1);
        using var after = learner.GetPreds(validSource);

        // fine_tune's epochs, frozen first: 1 frozen + 3 unfrozen; the first 2 at 16 px (training and validation), then 32 px.
        var perEpoch = sizes.Seen.GroupBy(s => (s.Frozen, s.Epoch)).Select(g => g.Select(s => s.Side).Distinct().ToArray()).ToList();
        Assert.AreEqual(4, perEpoch.Count);
        CollectionAssert.AreEqual(new long[] { 16, 16, 32, 32 }, perEpoch.Select(a => a.Single()).ToArray(),
            "epoch 0 (frozen) and 1 at 16 px, epochs 2 and 3 at 32 px; an epoch's training and validation batches share the size");
        Assert.IsTrue(sizes.Seen.Where(s => s.Frozen).All(s => s.Side == 16) && sizes.Seen.Any(s => !s.Training), "validation ran at the current size");
        Assert.AreEqual(32, progressive.CurrentSize);

        double lossBefore = before.Losses.mean().item<float>(), lossAfter = after.Losses.mean().item<float>();
        Assert.IsTrue(lossAfter < 0.7 * lossBefore, $"the run learned at the final size: validation loss {lossBefore:0.###} → {lossAfter:0.###}");

        // One decoded cache behind both sizes: every image decoded and kept once, as one source alone would.
        var alone = new ImageBatchSource(items, presize, augmenter, training: false, batches);
        foreach (var batch in alone.GetBatches(0)) batch.Dispose();
        Assert.AreEqual(alone.CachedBytes, trainSource.CachedBytes + validSource.CachedBytes, "no image kept twice");
    }

    [TestMethod]
    public void Options_reject_a_start_size_that_leaves_no_epoch_at_the_final_size_or_a_recipe()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFineTuningOptions { Tricks = { ProgressiveResizing = -1 } }.Validate());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFineTuningOptions { Tricks = { ProgressiveResizing = 128 }, FreezeEpochs = 0 }.Validate());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFineTuningOptions { Tricks = { ProgressiveResizing = 128, ProgressiveEpochs = 3 }, FreezeEpochs = 1, Epochs = 2 }.Validate());
        Assert.ThrowsExactly<ArgumentException>(() => new ImageFineTuningOptions { Tricks = { ProgressiveResizing = 128 }, Recipe = _ => { } }.Validate());
        new ImageFineTuningOptions { Tricks = { ProgressiveResizing = 128, ProgressiveEpochs = 2 }, FreezeEpochs = 1, Epochs = 2 }.Validate();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 32 });
        var source = new ImageBatchSource([new LabeledImage(ImageSource.FromFile("unused.jpg"), 0)], new PresizeTransformer("Image", "ImagePath", new PresizeOptions { Size = 40 }, new ImageDecodeOptions()),
            augmenter, training: false);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ProgressiveResizing(new AugmentOptions { Size = 32 }, source, null, smallSize: 32, smallEpochs: 1, freezeEpochs: 1),
            "the start size must be smaller than the final one");
    }
}
