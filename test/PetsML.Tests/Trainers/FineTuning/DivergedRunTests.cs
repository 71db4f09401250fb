using Microsoft.ML;
using PetsML.Tests.Host;
using PetsML.Tests.Support;
using PetsML.Trainers.Modeling;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// A run whose validation loss is not a number ends with an error and no model, in the library's Fit and in
/// <c>petsml train</c>. BatchNorm statistics gone NaN do it while the training loss (computed on batch statistics) stays
/// finite: the case a diverged run or a damaged weight file produced, which used to save the model and exit 0.
/// </summary>
[TestClass]
public sealed class DivergedRunTests
{
    /// <summary>After the training batches of each epoch, fills every BatchNorm running variance with NaN.</summary>
    sealed class PoisonBatchNormStatistics : ILearnerCallback
    {
        public void AfterTrain(TrainingContext context)
        {
            using var noGrad = no_grad();
            foreach (var (name, buffer) in context.Learner.Model.named_buffers())
                if (name.EndsWith("running_var", StringComparison.Ordinal)) buffer.fill_(double.NaN);
        }
    }

    [TestMethod]
    public void Fit_with_a_nan_validation_loss_throws_and_returns_no_model()
    {
        using var folder = new TempFolder("petsml-diverged");
        TestImages.WriteShapeDataset(folder.Path, perClass: 4, width: 40, height: 32);
        var ml = new MLContext(seed: 0);
        var raw = ml.Data.LoadImageFiles(folder.Path);
        var data = ml.Transforms.LabelFromFileName().Append(ml.Transforms.RandomSplit(validPct: 0.5, seed: 1))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = 36 })).Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }))
            .Fit(raw).Transform(raw);
        var log = new List<string>();
        var trainer = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            BatchSize = 4, Compute = { Device = "cpu", Precision = TrainingPrecision.Fp32 }, Pretrained = false, Epochs = 1, FreezeEpochs = 0, Log = log.Add,
            Callbacks = [new PoisonBatchNormStatistics()], // Fp32: the step runs the very model the callback poisons
        });
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => trainer.Fit(data));
        StringAssert.StartsWith(e.Message, "The validation loss is NaN at epoch 1/1, batch 1/");
        StringAssert.Contains(e.Message, "no model is written");
        Assert.IsTrue(double.IsNaN(e.Loss));
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void Petsml_train_with_a_nan_validation_loss_exits_non_zero_and_writes_no_model()
    {
        using var temp = new TempFolder("petsml-diverged-host");
        TestImages.WriteShapeDataset(temp.Combine("images"), perClass: 4, width: 48, height: 40);
        // ResNet-18 body weights whose BatchNorm running variances are NaN (a damaged weight file): training mode normalises
        // with batch statistics, so only validation sees them.
        var weights = temp.Combine("nan-statistics.dat");
        using (var generator = new Generator(1))
        using (var body = ResNetBody.Create(ResNetArchitecture.ResNet18, generator))
        {
            using (no_grad())
                foreach (var (name, buffer) in body.named_buffers())
                    if (name.EndsWith("running_var", StringComparison.Ordinal)) buffer.fill_(double.NaN);
            body.save(weights);
        }
        var model = temp.Combine("model.zip");
        var result = HostRunner.Run("train", "--data", temp.Combine("images"), "--arch", "resnet18-torchvision", "--weights", weights,
            "--presize", "40", "--size", "32", "--batch-size", "4", "--epochs", "1", "--freeze-epochs", "0", "--seed", "3", "--out", model);
        Assert.AreNotEqual(0, result.ExitCode, result.Out + result.Error);
        StringAssert.Contains(result.Error, "The validation loss is NaN");
        Assert.IsFalse(File.Exists(model), "no model.zip");
        Assert.IsEmpty(Directory.GetFiles(temp.Path, "model.zip*"), "no checkpoint or temporary model either (a one-epoch run)");
    }
}
