using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The training plan inside a real Fit: a tiny set (5 drawn images a class) trains with no option but the image sizes,
/// learns, says on options.Log and mlContext.Log that it is tiny and what was chosen; the plan survives save/load; a
/// resumed run uses the checkpoint's stored plan, not a new decision.
/// </summary>
[TestClass]
public sealed class TrainingPlanFitTests
{
    static TempFolder s_temp = null!;
    static MLContext s_ml = null!;
    static IDataView s_data = null!;

    [ClassInitialize]
    public static void MakeImages(TestContext _)
    {
        s_temp = new TempFolder("petsml-training-plan");
        var images = s_temp.Combine("images");
        TestImages.WriteShapeDataset(images, perClass: 5, width: 40, height: 36);
        s_ml = new MLContext(seed: 3);
        var rows = Directory.GetFiles(images).Order(StringComparer.Ordinal).Select(p => new MlNetSampleShapeTests.ImageData
        {
            ImagePath = p, Label = TestImages.ShapeClasses.Single(c => Path.GetFileName(p).StartsWith(c + "_", StringComparison.Ordinal)),
        });
        var data = s_ml.Data.LoadFromEnumerable(rows);
        s_data = s_ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
    }

    [ClassCleanup]
    public static void Cleanup() => s_temp?.Dispose();

    /// <summary>Small images so it runs in seconds; batch, epochs and learning rate are left to the plan.</summary>
    static ImageFineTuningOptions Options(List<string> log) => new()
    {
        FeatureColumnName = "ImagePath", Presize = new PresizeOptions { Size = 40 }, Augment = new AugmentOptions { Size = 32 },
        Compute = { Device = "cpu", Precision = TrainingPrecision.Fp32 }, Log = log.Add,
    };

    [TestMethod]
    public void A_tiny_set_trains_learns_and_says_it_is_tiny_and_the_plan_survives_save_and_load()
    {
        var log = new List<string>();
        var mlLog = new List<string>();
        s_ml.Log += (_, e) => { if (e.Source == ImageFineTuningTrainer.LogChannelName) lock (mlLog) mlLog.Add(e.Message); };

        using var model = s_ml.MulticlassClassification.Trainers.FineTuneImageClassifier(Options(log)).Fit(s_data);

        // 15 images, the default 20% held out: 12 train, 3 validate. The plan: batch 4 (3 steps), fine_tune(8) with 1 frozen.
        var plan = model.Plan!;
        Assert.AreEqual((12, 3, 3), (plan.TrainingPhotos, plan.Classes, plan.ValidationPhotos));
        Assert.AreEqual((4, 8, 1, (double?)2e-3), (plan.BatchSize, plan.Epochs, plan.FreezeEpochs, plan.BaseLearningRate));
        Assert.AreEqual(9, model.History!.Epochs.Count, "the plan's epochs ran:\n" + model.History.FormatTable());
        int planLine = log.FindIndex(l => l.StartsWith("12 training photos, 3 classes: batch 4, 3 steps an epoch, fine_tune(8) with 1 frozen", StringComparison.Ordinal));
        Assert.IsTrue(planLine is >= 0 and < 3, "among the first lines:\n" + string.Join('\n', log));
        Assert.IsTrue(log.Any(l => l.StartsWith("This is a tiny set", StringComparison.Ordinal)), string.Join('\n', log));
        Assert.IsTrue(mlLog.Any(l => l.Contains("This is a tiny set", StringComparison.Ordinal)), "mlContext.Log has it too");

        // It learned, with a bar for 12 training images at 32 px: the valid loss at least halves from the frozen epoch to the
        // best epoch, and the 15 images are told apart above chance (1/3; this run: 0.6, valid loss 1.81 down to 0.22).
        var rows = model.History.Epochs;
        Assert.IsTrue(rows.Min(r => r.ValidLoss!.Value) < rows[0].ValidLoss!.Value / 2, "the valid loss fell:\n" + model.History.FormatTable());
        var predicted = s_ml.Data.CreateEnumerable<Prediction>(model.Transform(s_data), reuseRowObject: false).ToList();
        double accuracy = predicted.Count(p => p.Label == p.PredictedLabel) / (double)predicted.Count;
        Assert.IsTrue(accuracy >= 0.5, $"accuracy {accuracy} on the tiny set:\n{model.History.FormatTable()}");

        var path = s_temp.Combine("tiny.zip");
        s_ml.Model.Save(model, s_data.Schema, path);
        using var loaded = (ImageClassifierTransformer)new MLContext().Model.Load(path, out _);
        Assert.AreEqual(plan, loaded.Plan, "the plan is stored in the model");
    }

    [TestMethod]
    public void A_time_budget_is_measured_and_fitted_and_the_log_says_so()
    {
        // One millisecond: no epoch fits, so one unfrozen epoch runs and the log says the budget is too small.
        var log = new List<string>();
        var options = Options(log);
        options.MaxTrainingTime = TimeSpan.FromMilliseconds(1);
        using var model = s_ml.MulticlassClassification.Trainers.FineTuneImageClassifier(options).Fit(s_data);

        Assert.AreEqual((1, 0), (model.Plan!.Epochs, model.Plan.FreezeEpochs));
        Assert.AreEqual(1, model.History!.Epochs.Count);
        var budget = model.Plan.Budget!;
        Assert.IsTrue(budget.SecondsPerEpoch > 0, "the probe timed something");
        Assert.AreEqual((9, 1), (budget.EpochsPlanned, budget.EpochsAfter));
        Assert.IsTrue(log.Any(l => l.StartsWith("Time budget 0 s: one epoch is estimated at", StringComparison.Ordinal)
            && l.EndsWith("longer than the budget: training 1 of the 9 planned epochs, fine_tune(1) with 0 frozen.", StringComparison.Ordinal)),
            string.Join('\n', log));
    }

    sealed class Prediction
    {
        public uint Label { get; set; }
        public uint PredictedLabel { get; set; }
    }

    [TestMethod]
    public void A_resumed_run_uses_the_checkpoints_plan_not_a_new_decision()
    {
        // The first run sets a batch of 2 (the plan would pick 4) and checkpoints after its frozen epoch.
        var checkpointPath = s_temp.Combine("run.checkpoint");
        var first = Options([]);
        (first.BatchSize, first.Epochs, first.Checkpointing.Path) = (2, 1, checkpointPath);
        using (s_ml.MulticlassClassification.Trainers.FineTuneImageClassifier(first).Fit(s_data)) { }
        var checkpoint = TrainingCheckpoint.Load(checkpointPath);
        var stored = checkpoint.TrainingPlan!;
        Assert.AreEqual((2, 1, 1), (stored.BatchSize, stored.Epochs, stored.FreezeEpochs));
        Assert.AreEqual(PlanChoices.BatchSize | PlanChoices.Epochs, stored.SetByUser);

        // Resumed with nothing set: the stored plan, so batch 2 and fine_tune(1), not the plan's batch 4 and fine_tune(8).
        var log = new List<string>();
        var resumed = Options(log);
        resumed.Checkpointing.ResumeFrom = checkpoint;
        using var model = s_ml.MulticlassClassification.Trainers.FineTuneImageClassifier(resumed).Fit(s_data);
        Assert.AreEqual(stored, model.Plan);
        Assert.AreEqual(1, model.History!.Epochs.Count, "only the unfrozen epoch remained");
        Assert.IsTrue(log.Contains("Resuming with the checkpoint's training plan:"), string.Join('\n', log));

        // A batch size that differs from the stored plan's is refused, naming the option.
        var other = Options([]);
        (other.Checkpointing.ResumeFrom, other.BatchSize) = (checkpoint, 4);
        var e = Assert.Throws<ArgumentException>(() => s_ml.MulticlassClassification.Trainers.FineTuneImageClassifier(other).Fit(s_data));
        Assert.AreEqual("BatchSize", e.ParamName);
    }
}
