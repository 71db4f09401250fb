using PetsML.Transforms.Augmentation;

using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Augmentation;

[TestClass]
public sealed class AugmentOptionsTests
{
    [TestMethod]
    public void Defaults_are_fastai_aug_transforms_for_chapter_5()
    {
        var o = new AugmentOptions();
        Assert.AreEqual(224, o.Size);
        Assert.AreEqual(0.75, o.MinScale);
        Assert.IsTrue(o.DoFlip);
        Assert.AreEqual(10.0, o.MaxRotate);
        Assert.AreEqual(1.0, o.MinZoom);
        Assert.AreEqual(1.1, o.MaxZoom);
        Assert.AreEqual(0.2, o.MaxLighting);
        Assert.AreEqual(0.2, o.MaxWarp);
        Assert.AreEqual(0.75, o.PAffine);
        Assert.AreEqual(0.75, o.PLighting);
        Assert.AreEqual(PadMode.Reflection, o.PadMode);
        CollectionAssert.AreEqual(new[] { 0.485f, 0.456f, 0.406f }, o.Normalization.Mean);
        CollectionAssert.AreEqual(new[] { 0.229f, 0.224f, 0.225f }, o.Normalization.Std);
        o.Validate();
    }

    [TestMethod]
    public void Invalid_options_are_refused_with_their_name()
    {
        var cases = new (AugmentOptions Options, string Name)[]
        {
            (new() { Size = 0 }, nameof(AugmentOptions.Size)),
            (new() { MinScale = 0 }, nameof(AugmentOptions.MinScale)),
            (new() { MinScale = 1.5 }, nameof(AugmentOptions.MinScale)),
            (new() { MaxRotate = -1 }, nameof(AugmentOptions.MaxRotate)),
            (new() { MinZoom = 0 }, nameof(AugmentOptions.MinZoom)),
            (new() { MinZoom = 1.2, MaxZoom = 1.1 }, nameof(AugmentOptions.MaxZoom)),
            (new() { MaxLighting = 1 }, nameof(AugmentOptions.MaxLighting)),
            (new() { MaxWarp = double.NaN }, nameof(AugmentOptions.MaxWarp)),
            (new() { PAffine = 1.01 }, nameof(AugmentOptions.PAffine)),
            (new() { PLighting = -0.1 }, nameof(AugmentOptions.PLighting)),
            (new() { PadMode = (PadMode)42 }, nameof(AugmentOptions.PadMode)),
            (new() { Normalization = null! }, nameof(AugmentOptions.Normalization)),
        };
        foreach (var (options, name) in cases)
        {
            var e = Assert.Throws<ArgumentException>(options.Validate, name);
            Assert.AreEqual(name, e.ParamName);
            StringAssert.Contains(e.Message, "AugmentOptions." + name);
            Assert.Throws<ArgumentException>(() => new BatchAugmenter(options), name);
        }
    }

    [TestMethod]
    public void Normalization_stats_are_copied_and_checked()
    {
        var packaged = NormalizationStats.PackagedResNet18;
        CollectionAssert.AreEqual(new[] { 0.482948f, 0.454521f, 0.404167f }, packaged.Mean);
        CollectionAssert.AreEqual(new[] { 1 / 255f, 1 / 255f, 1 / 255f }, packaged.Std);
        NormalizationStats.ImageNet.Mean[0] = 99f;
        Assert.AreEqual(0.485f, NormalizationStats.ImageNet.Mean[0], "each access is a fresh copy");
        Assert.AreEqual("std", Assert.ThrowsExactly<ArgumentException>(() => new NormalizationStats([0, 0, 0], [1, 0, 1])).ParamName);
        Assert.AreEqual("mean", Assert.ThrowsExactly<ArgumentException>(() => new NormalizationStats([0, 0], [1, 1, 1])).ParamName);
    }
}
