using Microsoft.ML;
using PetsML.Trainers.Training;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The trainer's options and the learner's options share one <see cref="ComputeOptions"/> (one set of defaults), take the
/// device as the same plain string, and reject a bad value up front with the option's name, grouped options included.
/// </summary>
[TestClass]
public sealed class OptionsDefaultsTests
{
    [TestMethod]
    public void Trainer_and_learner_options_share_one_set_of_defaults()
    {
        var trainer = new ImageFineTuningOptions();
        var learner = new LearnerOptions();

        foreach (var compute in new[] { trainer.Compute, learner.Compute })
        {
            Assert.AreEqual(ComputeOptions.Defaults.ChannelsLast, compute.ChannelsLast);
            Assert.AreEqual(ComputeOptions.Defaults.Precision, compute.Precision);
            Assert.AreEqual(ComputeOptions.Defaults.Device, compute.Device);
            Assert.AreEqual(ComputeOptions.Defaults.Bf16BatchNorm, compute.Bf16BatchNorm);
            Assert.AreEqual(ComputeOptions.Defaults.DecodeThreads, compute.DecodeThreads);
            Assert.AreEqual(ComputeOptions.Defaults.BatchPreparation, compute.BatchPreparation);
            Assert.AreEqual(ComputeOptions.Defaults.DecodedCacheBytes, compute.DecodedCacheBytes);
            Assert.IsNull(compute.Threads);
        }
        Assert.AreEqual(LearnerOptions.Defaults.WeightDecay, trainer.WeightDecay);
        Assert.AreEqual(LearnerOptions.Defaults.WeightDecay, learner.WeightDecay);
        // The values the trainer has used as its user-facing defaults (and bench/README.md measured): channels_last, auto precision.
        Assert.IsTrue(learner.Compute.ChannelsLast);
        Assert.AreEqual(TrainingPrecision.Auto, learner.Compute.Precision);
        Assert.AreEqual("auto", learner.Compute.Device);
        // Every trick is off and there is no checkpoint by default: the defaults train the lesson.
        Assert.AreEqual(0, trainer.Tricks.MixUp + trainer.Tricks.CutMix + trainer.Tricks.LabelSmoothing);
        Assert.AreEqual(0, trainer.Tricks.ProgressiveResizing + trainer.Tricks.EarlyStoppingPatience + trainer.Tricks.GradientAccumulationItems);
        Assert.IsFalse(trainer.Tricks.KeepBestEpoch);
        Assert.IsNull(trainer.Checkpointing.Path);
        Assert.IsNull(trainer.Checkpointing.ResumeFrom);
    }

    [TestMethod]
    [DataRow("gpu")]
    [DataRow("cuda:x")]
    [DataRow("cuda:-1")]
    [DataRow("cpu0")]
    public void A_bad_device_name_fails_up_front_naming_Device(string device)
    {
        var fromCatalog = Assert.Throws<ArgumentException>(() =>
            new MLContext(seed: 1).MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions { Compute = { Device = device } }));
        Assert.AreEqual("Device", fromCatalog.ParamName);
        StringAssert.Contains(fromCatalog.Message, $"'{device}'");

        var fromLearnerOptions = Assert.Throws<ArgumentException>(() => new LearnerOptions { Compute = { Device = device } }.Validate());
        Assert.AreEqual("Device", fromLearnerOptions.ParamName);
        StringAssert.Contains(fromLearnerOptions.Message, "auto, cpu, cuda, cuda:N");
    }

    [TestMethod]
    public void Device_names_are_the_same_strings_in_both_options_classes()
    {
        foreach (var device in new[] { "auto", "cpu", " CPU " })
        {
            _ = new ImageFineTuningTrainer(new ImageFineTuningOptions { Compute = { Device = device } });
            new LearnerOptions { Compute = { Device = device } }.Validate();
        }
    }

    [TestMethod]
    public void A_bad_precision_fails_up_front_naming_Precision()
    {
        var parsed = Assert.Throws<ArgumentException>(() => PrecisionResolver.Parse("fp16"));
        Assert.AreEqual("Precision", parsed.ParamName);
        StringAssert.Contains(parsed.Message, "'fp16'");

        var undefined = (TrainingPrecision)42;
        var trainer = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFineTuningTrainer(new ImageFineTuningOptions { Compute = { Precision = undefined } }));
        Assert.AreEqual("Precision", trainer.ParamName);
        var learner = Assert.Throws<ArgumentOutOfRangeException>(() => new LearnerOptions { Compute = { Precision = undefined } }.Validate());
        Assert.AreEqual("Precision", learner.ParamName);
    }

    [TestMethod]
    public void Every_bad_trainer_option_names_itself()
    {
        var cases = new (string Option, string Named, Action<ImageFineTuningOptions> Set)[]
        {
            ("Epochs", "ImageFineTuningOptions.Epochs", o => o.Epochs = 0),
            ("BatchSize", "ImageFineTuningOptions.BatchSize", o => o.BatchSize = 0),
            ("LrMult", "ImageFineTuningOptions.LrMult", o => o.LrMult = 0),
            ("BaseLearningRate", "ImageFineTuningOptions.BaseLearningRate", o => o.BaseLearningRate = double.NaN),
            ("ValidPct", "ImageFineTuningOptions.ValidPct", o => o.ValidPct = 1),
            ("Architecture", "ImageFineTuningOptions.Architecture", o => o.Architecture = (ResNetArchitecture)99),
            ("MinScale", "AugmentOptions.MinScale", o => o.Augment = new AugmentOptions { MinScale = 0 }),
            ("Compute", "Compute", o => o.Compute = null!),
            ("Threads", "ComputeOptions.Threads", o => o.Compute.Threads = 0),
            ("DecodeThreads", "ComputeOptions.DecodeThreads", o => o.Compute.DecodeThreads = 0),
            ("BatchPreparation", "ComputeOptions.BatchPreparation", o => o.Compute.BatchPreparation = (BatchPreparation)9),
            ("Bf16BatchNorm", "ComputeOptions.Bf16BatchNorm", o => o.Compute.Bf16BatchNorm = (Bf16BatchNorm)9),
            ("DecodedCacheBytes", "ComputeOptions.DecodedCacheBytes", o => o.Compute.DecodedCacheBytes = -1),
            ("Tricks", "Tricks", o => o.Tricks = null!),
            ("LabelSmoothing", "TrainingTricksOptions.LabelSmoothing", o => o.Tricks.LabelSmoothing = 1),
            ("ProgressiveResizing", "TrainingTricksOptions.ProgressiveResizing", o => o.Tricks.ProgressiveResizing = -1),
            ("ProgressiveEpochs", "TrainingTricksOptions.ProgressiveEpochs", o => (o.Tricks.ProgressiveResizing, o.Tricks.ProgressiveEpochs) = (128, 0)),
            ("Checkpointing", "Checkpointing", o => o.Checkpointing = null!),
            ("Path", "CheckpointOptions.Path", o => o.Checkpointing.Path = " "),
            ("Recipe", "ImageFineTuningOptions.Checkpointing", o => (o.Recipe, o.Checkpointing.Path) = (_ => { }, "run.checkpoint")),
        };
        foreach (var (option, named, set) in cases)
        {
            var options = new ImageFineTuningOptions();
            set(options);
            var e = Assert.Throws<ArgumentException>(() => new ImageFineTuningTrainer(options));
            Assert.AreEqual(option, e.ParamName, $"{option}: {e.Message}");
            StringAssert.Contains(e.Message, named);
        }
    }
}
