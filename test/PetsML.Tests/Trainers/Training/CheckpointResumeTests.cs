using Microsoft.ML;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

/// <summary>
/// A fine_tune(2, freeze_epochs=1) resumed from a checkpoint ends with exactly the weights of the uninterrupted run
/// (CPU, same seeds): from the phase boundary (after the frozen epoch) and from inside the unfrozen phase (optimizer
/// moments, step counts, dropout generators and the one-cycle position restored).
/// </summary>
[TestClass]
public sealed class CheckpointResumeTests
{
    const int Epochs = 2, FreezeEpochs = 1;
    static readonly FineTunePlan Plan = FineTunePlan.WithDefaults(Epochs, FreezeEpochs, baseLearningRate: 2e-3);

    static TempFolder s_temp = null!;
    static MLContext s_ml = null!;
    static IDataView s_data = null!;
    static Dictionary<string, Tensor> s_uninterrupted = null!;
    static List<EpochRecord> s_uninterruptedHistory = null!;

    /// <summary>
    /// Copies each checkpoint to checkpoint-N (N its epochs done), so each resume point can be tested. A fit's last epoch is
    /// checkpointed at the end of the fit, so look after every epoch and every fit.
    /// </summary>
    internal sealed class KeepEveryCheckpoint(string path) : ILearnerCallback
    {
        public int Order => CallbackOrder.Checkpoint + 5;
        public void AfterEpoch(TrainingContext context) => Copy(context);
        public void AfterFit(TrainingContext context) => Copy(context);

        void Copy(TrainingContext context)
        {
            if (context.IsLrFind || !File.Exists(path)) return;
            File.Copy(path, $"{path}-{TrainingCheckpoint.Load(path).EpochsDone}", overwrite: true);
        }
    }

    static FineTuningSession NewSession() =>
        s_ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            Epochs = Epochs, FreezeEpochs = FreezeEpochs, BatchSize = 8, Seed = 5, Compute = { Device = "cpu" },
        }).CreateSession(s_data);

    static Dictionary<string, Tensor> Weights(FineTuningSession session) =>
        session.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());

    [ClassInitialize]
    public static void RunUninterrupted(TestContext _)
    {
        s_temp = new TempFolder("petsml-resume");
        TestImages.WriteShapeDataset(s_temp.Combine("images"), perClass: 10, width: 48, height: 40);
        s_ml = new MLContext(seed: 0);
        var raw = s_ml.Data.LoadImageFiles(s_temp.Combine("images"));
        s_data = s_ml.Transforms.LabelFromFileName()
            .Append(s_ml.Transforms.RandomSplit(validPct: 0.2, seed: 42))
            .Append(s_ml.Transforms.Presize(new PresizeOptions { Size = 36 }))
            .Append(s_ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }))
            .Fit(raw).Transform(raw);

        using var session = NewSession();
        var path = s_temp.Combine("model.zip.checkpoint");
        session.Learner.AddCallback(new CheckpointCallback(path, Plan, session.ClassNames, new Dictionary<string, string> { ["arch"] = "resnet18" }));
        session.Learner.AddCallback(new KeepEveryCheckpoint(path));
        session.Learner.FineTune(Plan.Epochs, Plan.BaseLearningRate, Plan.FreezeEpochs, Plan.LrMult, Plan.PctStart, Plan.Div);
        s_uninterrupted = Weights(session);
        s_uninterruptedHistory = session.Learner.History.ToList();
        session.Model.Dispose();
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        foreach (var t in s_uninterrupted?.Values ?? Enumerable.Empty<Tensor>()) t.Dispose();
        s_temp?.Dispose();
    }

    [TestMethod]
    public void A_checkpoint_is_written_after_every_epoch_but_the_last_with_what_a_resume_needs()
    {
        var checkpoint = TrainingCheckpoint.Load(s_temp.Combine("model.zip.checkpoint"));
        Assert.AreEqual(Plan, checkpoint.Plan);
        // After the last epoch the model is saved instead: a checkpoint then would take the disk space the model needs.
        Assert.AreEqual(Plan.TotalEpochs - 1, checkpoint.EpochsDone, "the last write was after the next-to-last epoch");
        Assert.IsNotNull(checkpoint.SmoothedLoss, "the smoothed training loss is stored");
        CollectionAssert.AreEqual(TestImages.ShapeClasses.OrderBy(c => c, StringComparer.Ordinal).ToList(), checkpoint.ClassNames.OrderBy(c => c, StringComparer.Ordinal).ToList());
        Assert.AreEqual("resnet18", checkpoint.Settings["arch"]);
        for (int n = 1; n < Plan.TotalEpochs; n++)
            Assert.AreEqual(n, TrainingCheckpoint.Load(s_temp.Combine($"model.zip.checkpoint-{n}")).EpochsDone);
        Assert.AreEqual(0, Directory.GetFiles(s_temp.Path, "*.tmp").Length, "no temporary file is left behind");
    }

    [TestMethod]
    [DataRow(1, DisplayName = "after the frozen epoch (phase boundary)")]
    [DataRow(2, DisplayName = "after the first unfrozen epoch (inside the one-cycle)")]
    public void Resuming_ends_with_exactly_the_weights_of_the_uninterrupted_run(int epochsDone)
    {
        var checkpoint = TrainingCheckpoint.Load(s_temp.Combine($"model.zip.checkpoint-{epochsDone}"));
        using var session = NewSession();
        try
        {
            var path = s_temp.Combine($"resumed-{epochsDone}.checkpoint");
            var writer = new CheckpointCallback(path, Plan, session.ClassNames, epochsDone: checkpoint.EpochsDone);
            session.Learner.AddCallback(writer);
            session.Learner.FineTune(Plan.Epochs, Plan.BaseLearningRate, Plan.FreezeEpochs, Plan.LrMult, Plan.PctStart, Plan.Div, resumeFrom: checkpoint);
            Assert.AreEqual(Plan.TotalEpochs, writer.EpochsDone);

            // Only the remaining epochs ran, with the same rows as the uninterrupted run's last epochs.
            var history = session.Learner.History;
            Assert.AreEqual(Plan.TotalEpochs - epochsDone, history.Count);
            for (int i = 0; i < history.Count; i++)
            {
                var expected = s_uninterruptedHistory[epochsDone + i];
                Assert.AreEqual(expected.TrainLoss, history[i].TrainLoss, $"train_loss (smoothed) of epoch {epochsDone + i}");
                Assert.AreEqual(expected.ValidLoss, history[i].ValidLoss, $"valid_loss of epoch {epochsDone + i}");
                Assert.AreEqual(expected.ErrorRate, history[i].ErrorRate, $"error_rate of epoch {epochsDone + i}");
            }

            var resumed = Weights(session);
            try
            {
                CollectionAssert.AreEquivalent(s_uninterrupted.Keys.ToList(), resumed.Keys.ToList());
                foreach (var (name, expected) in s_uninterrupted)
                {
                    using var equal = expected.eq(resumed[name]).all();
                    Assert.IsTrue(equal.item<bool>(), $"'{name}' differs from the uninterrupted run");
                }
            }
            finally { foreach (var t in resumed.Values) t.Dispose(); }
        }
        finally { session.Model.Dispose(); }
    }

    [TestMethod]
    public void A_checkpoint_that_cannot_be_written_is_a_warning_and_the_run_goes_on_unchanged()
    {
        using var session = NewSession();
        try
        {
            var path = s_temp.Combine("full-disk", "model.zip.checkpoint");
            int attempts = 0;
            var warnings = new List<string>();
            var checkpoint = new CheckpointCallback(path, Plan, session.ClassNames, warn: warnings.Add)
            {
                // The first write meets a full disk (ENOSPC), the second succeeds: the seam a real disk offers no test.
                Save = (c, p) => { if (++attempts == 1) throw new IOException("No space left on device", 28); c.Save(p); },
            };
            session.Learner.AddCallback(checkpoint);
            session.Learner.FineTune(Plan.Epochs, Plan.BaseLearningRate, Plan.FreezeEpochs, Plan.LrMult, Plan.PctStart, Plan.Div);

            Assert.AreEqual(2, attempts, "one attempt per epoch but the last");
            var warning = warnings.Single();
            StringAssert.Contains(warning, "epoch 1 of 3");
            StringAssert.Contains(warning, "No space left on device");
            StringAssert.Contains(warning, "Training goes on");
            CollectionAssert.AreEqual(warnings, checkpoint.Warnings.ToList());
            Assert.AreEqual(2, TrainingCheckpoint.Load(path).EpochsDone, "the next epoch's checkpoint was written");
            Assert.AreEqual(2, checkpoint.SavedEpochs);

            // The failed write changed nothing: the run ends exactly like the uninterrupted one (which learned, see below).
            CollectionAssert.AreEqual(s_uninterruptedHistory.Select(e => e.ValidLoss).ToList(), session.Learner.History.Select(e => e.ValidLoss).ToList());
            Assert.IsTrue(s_uninterruptedHistory[^1].ValidLoss < s_uninterruptedHistory[0].ValidLoss || s_uninterruptedHistory[^1].ErrorRate < 0.34,
                "the run learned: valid_loss fell or the error is below chance (3 classes)");
        }
        finally { session.Model.Dispose(); }
    }

    [TestMethod]
    public void A_checkpoint_of_another_fine_tune_or_another_file_is_refused()
    {
        var checkpoint = TrainingCheckpoint.Load(s_temp.Combine("model.zip.checkpoint-1"));
        using var session = NewSession();
        try
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => session.Learner.FineTune(3, 2e-3, 1, resumeFrom: checkpoint));
            StringAssert.Contains(e.Message, "epochs 2 vs 3");
        }
        finally { session.Model.Dispose(); }

        var foreign = s_temp.Combine("foreign.checkpoint");
        File.WriteAllText(foreign, "not a zip");
        Assert.ThrowsExactly<InvalidDataException>(() => TrainingCheckpoint.Load(foreign));
    }

    [TestMethod]
    public void The_optimizer_state_round_trips_through_a_stream()
    {
        var checkpoint = TrainingCheckpoint.Load(s_temp.Combine("model.zip.checkpoint-2"));
        using var session = NewSession();
        try
        {
            session.Learner.Unfreeze();
            checkpoint.RestoreOptimizer(session.Learner.Optimizer);
            // One unfrozen epoch of 3 batches (24 training images, batch 8) has been stepped on every trainable parameter.
            Assert.AreEqual(3, session.Learner.Optimizer.StepCount(0, 0));
            using var copy = new MemoryStream();
            session.Learner.Optimizer.SaveState(copy);
            using var again = new MemoryStream();
            session.Learner.Optimizer.LoadState(new MemoryStream(copy.ToArray()));
            session.Learner.Optimizer.SaveState(again);
            CollectionAssert.AreEqual(copy.ToArray(), again.ToArray());
        }
        finally { session.Model.Dispose(); }
    }
}
