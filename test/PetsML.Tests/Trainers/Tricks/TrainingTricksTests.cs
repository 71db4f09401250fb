using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Tricks;

namespace PetsML.Tests.Trainers.Tricks;

/// <summary>The trainer's trick options (<see cref="ImageFineTuningOptions.Tricks"/>) become the callbacks they name, and bad values are refused by name.</summary>
[TestClass]
public sealed class TrainingTricksTests
{
    [TestMethod]
    public void Each_trick_option_adds_its_callback_with_its_settings()
    {
        Assert.AreEqual(0, TrainingTricks.Callbacks(new TrainingTricksOptions(), seed: 0).Count(), "no trick by default");
        var callbacks = TrainingTricks.Callbacks(new TrainingTricksOptions
        {
            MixUp = 0.4, KeepBestEpoch = true, EarlyStoppingPatience = 2, GradientAccumulationItems = 64,
        }, seed: 7).ToList();
        var mixUp = callbacks.OfType<MixUp>().Single();
        Assert.AreEqual(0.4, mixUp.Alpha);
        Assert.AreEqual(7, mixUp.Seed);
        Assert.AreEqual(2, callbacks.OfType<EarlyStopping>().Single().Patience);
        Assert.AreEqual(64, callbacks.OfType<GradientAccumulation>().Single().Items);
        Assert.AreEqual(1, callbacks.OfType<KeepBestEpoch>().Count());
        Assert.AreEqual(1.0, TrainingTricks.Callbacks(new TrainingTricksOptions { CutMix = 1.0 }, seed: 0).OfType<CutMix>().Single().Alpha);
    }

    [TestMethod]
    public void Bad_trick_options_are_refused_naming_the_option()
    {
        var both = Assert.ThrowsExactly<ArgumentException>(() => new ImageFineTuningOptions { Tricks = { MixUp = 0.4, CutMix = 1 } }.Validate());
        StringAssert.Contains(both.Message, "MixUp or CutMix");
        var mixUp = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFineTuningOptions { Tricks = { MixUp = -1 } }.Validate());
        Assert.AreEqual("MixUp", mixUp.ParamName);
        StringAssert.Contains(mixUp.Message, "TrainingTricksOptions.MixUp");
        Assert.AreEqual("EarlyStoppingPatience",
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFineTuningOptions { Tricks = { EarlyStoppingPatience = -1 } }.Validate()).ParamName);
        Assert.AreEqual("GradientAccumulationItems",
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ImageFineTuningOptions { Tricks = { GradientAccumulationItems = -2 } }.Validate()).ParamName);
    }
}
