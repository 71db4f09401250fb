using Microsoft.ML;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>What the trainer takes from its MLContext and its options, and where its validation rows come from.</summary>
[TestClass]
public sealed class TrainerContractTests
{
    [TestMethod]
    public void The_seed_comes_from_the_options_else_the_MLContext_else_42()
    {
        Assert.AreEqual(5, new MLContext(seed: 5).MulticlassClassification.Trainers.FineTuneImageClassifier().Seed);
        Assert.AreEqual(3, new MLContext(seed: 5).MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions { Seed = 3 }).Seed);
        Assert.AreEqual(42, new MLContext().MulticlassClassification.Trainers.FineTuneImageClassifier().Seed);
    }

    [TestMethod]
    [DataRow("Epochs")]
    [DataRow("BatchSize")]
    [DataRow("BaseLearningRate")]
    [DataRow("LrMult")]
    [DataRow("ValidPct")]
    [DataRow("Size")]
    [DataRow("FeatureColumnName")]
    public void Every_option_is_checked_up_front_with_a_message_naming_it(string option)
    {
        var options = new ImageFineTuningOptions();
        switch (option)
        {
            case "Epochs": options.Epochs = 0; break;
            case "BatchSize": options.BatchSize = 0; break;
            case "BaseLearningRate": options.BaseLearningRate = -1; break;
            case "LrMult": options.LrMult = 0; break;
            case "ValidPct": options.ValidPct = 1; break;
            case "Size": options.Augment = new AugmentOptions { Size = 0 }; break;
            case "FeatureColumnName": options.FeatureColumnName = " "; break;
        }
        var e = Assert.Throws<ArgumentException>(() => new MLContext().MulticlassClassification.Trainers.FineTuneImageClassifier(options));
        Assert.AreEqual(option, e.ParamName);
        StringAssert.Contains(e.Message, option);
        var presize = Assert.Throws<ArgumentException>(() => new MLContext().Transforms.Presize(new PresizeOptions { Size = 0 }));
        Assert.AreEqual("Size", presize.ParamName);
        StringAssert.Contains(presize.Message, "PresizeOptions.Size");
    }

    static (IDataView Data, MLContext Ml) Images(TempFolder folder)
    {
        TestImages.WriteShapeDataset(folder.Path, perClass: 8, width: 40, height: 36);
        var ml = new MLContext(seed: 1);
        var rows = Directory.GetFiles(folder.Path).Order(StringComparer.Ordinal)
            .Select(p => new MlNetSampleShapeTests.ImageData { ImagePath = p, Label = Path.GetFileName(p).Split('_')[0] + "_" + Path.GetFileName(p).Split('_')[1] });
        var data = ml.Data.LoadFromEnumerable(rows);
        return (ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data), ml);
    }

    static ImageFineTuningOptions Tiny(List<string> log, double validPct) => new()
    {
        FeatureColumnName = "ImagePath", Presize = new PresizeOptions { Size = 36 }, Augment = new AugmentOptions { Size = 32 },
        BatchSize = 4, Epochs = 1, FreezeEpochs = 0, Pretrained = false, Architecture = ResNetArchitecture.ResNet18, Compute = { Device = "cpu" },
        ValidPct = validPct, Log = log.Add,
    };

    [TestMethod]
    public void Without_a_validation_set_or_split_column_a_seeded_fifth_is_held_out_and_mlContext_Log_gets_the_table()
    {
        using var folder = new TempFolder("petsml-validpct");
        var (data, ml) = Images(folder);
        var mlLog = new List<LoggingEventArgs>();
        ml.Log += (_, e) => { lock (mlLog) mlLog.Add(e); };
        var log = new List<string>();
        using var model = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(Tiny(log, validPct: 0.2)).Fit(data);
        Assert.IsTrue(log.Any(l => l.Contains("4 of 24 rows held out for validation", StringComparison.Ordinal)), string.Join("\n", log));
        Assert.IsTrue(log.Any(l => l.Contains("20 training and 4 validation", StringComparison.Ordinal)), string.Join("\n", log));
        Assert.IsNotNull(model.History!.Epochs[^1].ErrorRate, "validated");
        var fromTrainer = mlLog.Where(e => e.Source.Contains(ImageFineTuningTrainer.LogChannelName, StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.IsTrue(fromTrainer.Any(m => m.Contains("train_loss", StringComparison.Ordinal)), "the epoch table's header reached mlContext.Log");
        Assert.IsTrue(fromTrainer.Any(m => m.Contains("held out", StringComparison.Ordinal)), "progress lines reached mlContext.Log");
    }

    [TestMethod]
    public void ValidPct_zero_trains_without_validation_and_says_so()
    {
        using var folder = new TempFolder("petsml-novalid");
        var (data, ml) = Images(folder);
        var log = new List<string>();
        using var model = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(Tiny(log, validPct: 0)).Fit(data);
        Assert.IsTrue(log.Any(l => l.Contains("training without validation", StringComparison.Ordinal)), string.Join("\n", log));
        Assert.IsNull(model.History!.Epochs[^1].ErrorRate, "no error_rate without validation");
        Assert.AreEqual(1, model.History.Epochs.Count);
    }
}
