using Microsoft.ML;
using PetsML.Tests.Support;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms.Batching;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The trainer's grouped options reach what they configure: <see cref="ImageFineTuningOptions.Compute"/> the learner (the
/// same <see cref="ComputeOptions"/>) and the batches, <see cref="ImageFineTuningOptions.Tricks"/> the learner's callbacks.
/// Every value set here differs from its default, so a group the trainer ignored fails.
/// </summary>
[TestClass]
public sealed class OptionGroupsTests
{
    [TestMethod]
    public void Compute_and_tricks_reach_the_learner_and_its_batches()
    {
        using var folder = new TempFolder("petsml-option-groups");
        TestImages.WriteShapeDataset(folder.Path, perClass: 6, width: 40, height: 32);
        var ml = new MLContext(seed: 0);
        var raw = ml.Data.LoadImageFiles(folder.Path);
        var data = ml.Transforms.LabelFromFileName().Fit(raw).Transform(raw); // paths: the trainer presizes and augments
        var options = new ImageFineTuningOptions
        {
            FeatureColumnName = "ImagePath", BatchSize = 4, ValidPct = 0.5, Pretrained = false,
            Presize = { Size = 36 }, Augment = { Size = 32 },
            Compute =
            {
                Device = "cpu", ChannelsLast = false, Precision = TrainingPrecision.Fp32, Bf16BatchNorm = Bf16BatchNorm.Fp32Compute,
                DecodeThreads = 1, BatchPreparation = BatchPreparation.Overlap, DecodedCacheBytes = 1 << 20,
            },
            Tricks = { MixUp = 0.4, KeepBestEpoch = true },
        };

        using var session = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(options).CreateSession(data);
        try
        {
            var compute = session.Learner.Options.Compute;
            Assert.AreEqual(("cpu", false, TrainingPrecision.Fp32, Bf16BatchNorm.Fp32Compute),
                (compute.Device, compute.ChannelsLast, compute.Precision, compute.Bf16BatchNorm));
            Assert.AreEqual(TrainingPrecision.Fp32, session.Learner.Precision);
            var batches = ((ImageBatchSource)session.Learner.Train).Options;
            Assert.AreEqual((1, BatchPreparation.Overlap, 1L << 20), (batches.DecodeThreads, batches.Preparation, batches.DecodedCacheBytes));
            Assert.AreEqual(0.4, session.Learner.Callbacks.OfType<MixUp>().Single().Alpha);
            Assert.AreEqual(1, session.Learner.Callbacks.OfType<KeepBestEpoch>().Count());
        }
        finally { session.Model.Dispose(); }
    }
}
