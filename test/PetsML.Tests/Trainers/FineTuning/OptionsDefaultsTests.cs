using Microsoft.ML;
using PetsML.Trainers.Training;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The trainer's options and the learner's options default alike (one <see cref="LearnerOptions.Defaults"/>), take the
/// device as the same plain string, and reject a bad value up front with the option's name.
/// </summary>
[TestClass]
public sealed class OptionsDefaultsTests
{
    [TestMethod]
    public void Trainer_and_learner_options_share_one_set_of_defaults()
    {
        var trainer = new ImageFineTuningOptions();
        var learner = new LearnerOptions();

        Assert.AreEqual(LearnerOptions.Defaults.ChannelsLast, trainer.ChannelsLast);
        Assert.AreEqual(LearnerOptions.Defaults.ChannelsLast, learner.ChannelsLast);
        Assert.AreEqual(LearnerOptions.Defaults.Precision, trainer.Precision);
        Assert.AreEqual(LearnerOptions.Defaults.Precision, learner.Precision);
        Assert.AreEqual(LearnerOptions.Defaults.Device, trainer.Device);
        Assert.AreEqual(LearnerOptions.Defaults.Device, learner.Device);
        Assert.AreEqual(LearnerOptions.Defaults.BatchNorm, trainer.Bf16BatchNorm);
        Assert.AreEqual(LearnerOptions.Defaults.BatchNorm, learner.Bf16BatchNorm);
        Assert.AreEqual(LearnerOptions.Defaults.WeightDecay, trainer.WeightDecay);
        Assert.AreEqual(LearnerOptions.Defaults.WeightDecay, learner.WeightDecay);
        // The values the trainer has used as its user-facing defaults (and bench/README.md measured): channels_last, auto precision.
        Assert.IsTrue(learner.ChannelsLast);
        Assert.AreEqual(TrainingPrecision.Auto, learner.Precision);
        Assert.AreEqual("auto", learner.Device);
    }

    [TestMethod]
    [DataRow("gpu")]
    [DataRow("cuda:x")]
    [DataRow("cuda:-1")]
    [DataRow("cpu0")]
    public void A_bad_device_name_fails_up_front_naming_Device(string device)
    {
        var fromCatalog = Assert.Throws<ArgumentException>(() =>
            new MLContext(seed: 1).MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions { Device = device }));
        Assert.AreEqual("Device", fromCatalog.ParamName);
        StringAssert.Contains(fromCatalog.Message, $"'{device}'");

        var fromLearnerOptions = Assert.Throws<ArgumentException>(() => new LearnerOptions { Device = device }.Validate());
        Assert.AreEqual("Device", fromLearnerOptions.ParamName);
        StringAssert.Contains(fromLearnerOptions.Message, "auto, cpu, cuda, cuda:N");
    }

    [TestMethod]
    public void Device_names_are_the_same_strings_in_both_options_classes()
    {
        foreach (var device in new[] { "auto", "cpu", " CPU " })
        {
            _ = new ImageFineTuningTrainer(new ImageFineTuningOptions { Device = device });
            new LearnerOptions { Device = device }.Validate();
        }
    }

    [TestMethod]
    public void A_bad_precision_fails_up_front_naming_Precision()
    {
        var parsed = Assert.Throws<ArgumentException>(() => PrecisionResolver.Parse("fp16"));
        Assert.AreEqual("Precision", parsed.ParamName);
        StringAssert.Contains(parsed.Message, "'fp16'");

        var undefined = (TrainingPrecision)42;
        var trainer = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFineTuningTrainer(new ImageFineTuningOptions { Precision = undefined }));
        Assert.AreEqual("Precision", trainer.ParamName);
        var learner = Assert.Throws<ArgumentOutOfRangeException>(() => new LearnerOptions { Precision = undefined }.Validate());
        Assert.AreEqual("Precision", learner.ParamName);
    }

    [TestMethod]
    public void Every_bad_trainer_option_names_itself()
    {
        var cases = new (string Option, Action<ImageFineTuningOptions> Set)[]
        {
            ("Epochs", o => o.Epochs = 0),
            ("BatchSize", o => o.BatchSize = 0),
            ("LrMult", o => o.LrMult = 0),
            ("BaseLearningRate", o => o.BaseLearningRate = double.NaN),
            ("ValidPct", o => o.ValidPct = 1),
            ("BatchPreparation", o => o.BatchPreparation = (BatchPreparation)9),
            ("Architecture", o => o.Architecture = (ResNetArchitecture)99),
            ("MinScale", o => o.Augment = new AugmentOptions { MinScale = 0 }),
        };
        foreach (var (option, set) in cases)
        {
            var options = new ImageFineTuningOptions();
            set(options);
            var e = Assert.Throws<ArgumentException>(() => new ImageFineTuningTrainer(options));
            Assert.AreEqual(option, e.ParamName, $"{option}: {e.Message}");
            StringAssert.Contains(e.Message, option);
        }
    }
}
