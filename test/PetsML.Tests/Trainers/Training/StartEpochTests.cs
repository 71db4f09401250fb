using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

/// <summary>fastai's start_epoch (skipped epochs keep the schedule's positions) and lr_find's fits being marked as such.</summary>
[TestClass]
public sealed class StartEpochTests
{
    sealed class Rig : IDisposable
    {
        public Rig(IEnumerable<ILearnerCallback>? callbacks = null)
        {
            Model = new TinyCnn(3);
            var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: 64, validItems: 16, batchSize: 16, seed: 9);
            Owned = owned;
            Learner = new Learner(Model, Model.Groups(), train, valid, new LearnerOptions { Compute = { Device = "cpu" }, Callbacks = (callbacks ?? []).ToList() });
        }

        public TinyCnn Model { get; }
        public Tensor[] Owned { get; }
        public Learner Learner { get; }

        public void Dispose()
        {
            Learner.Dispose();
            Model.Dispose();
            foreach (var t in Owned) t.Dispose();
        }
    }

    sealed class Positions : ILearnerCallback
    {
        public List<(int Epoch, int Iteration, double Pct)> Seen { get; } = [];
        public List<int> StartEpochs { get; } = [];
        public void BeforeFit(TrainingContext context) => StartEpochs.Add(context.StartEpoch);
        public void BeforeBatch(TrainingContext context)
        {
            if (context.IsTraining) Seen.Add((context.Epoch, context.Iteration, context.PctTrain));
        }
    }

    [TestMethod]
    public void Starting_at_epoch_k_runs_the_last_epochs_at_the_uninterrupted_schedule_positions()
    {
        var whole = new Positions();
        var tail = new Positions();
        using var a = new Rig([whole]);
        using var b = new Rig([tail]);
        a.Learner.FitOneCycle(3, 1e-2);
        b.Learner.FitOneCycle(3, 1e-2, startEpoch: 2);

        int perEpoch = a.Learner.Train.BatchCount; // 4
        Assert.AreEqual(3 * perEpoch, whole.Seen.Count);
        CollectionAssert.AreEqual(whole.Seen.Skip(2 * perEpoch).ToList(), tail.Seen, "same epochs, iterations and pct_train");
        CollectionAssert.AreEqual(a.Learner.Recorder.LearningRates.Skip(2 * perEpoch).ToList(), b.Learner.Recorder.LearningRates.ToList(),
            "the one-cycle learning rates continue where the skipped epochs left them");
        Assert.AreEqual(1, b.Learner.Recorder.Epochs.Count, "only the last epoch ran");
        CollectionAssert.AreEqual(new[] { 2 }, tail.StartEpochs);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => b.Learner.FitOneCycle(3, startEpoch: 4));
    }

    [TestMethod]
    public void Lr_find_fits_are_flagged_and_the_epoch_logger_skips_them()
    {
        var log = new List<string>();
        var flags = new List<bool>();
        var watcher = new FlagWatcher(flags);
        using var rig = new Rig([new EpochLogger(log.Add), watcher]);
        rig.Learner.LrFind(numIt: 8, stopDiv: false); // 8 iterations = 2 epochs of 4 batches
        rig.Learner.Fit(1, 1e-3);
        CollectionAssert.AreEqual(new[] { true, false }, flags, "one lr_find fit, then one training fit");
        Assert.AreEqual(2, log.Count, $"header and one row, none for lr_find's epochs:\n{string.Join('\n', log)}");
        StringAssert.StartsWith(log[1], "0 ");
    }

    sealed class FlagWatcher(List<bool> flags) : ILearnerCallback
    {
        public void BeforeFit(TrainingContext context) => flags.Add(context.IsLrFind);
    }
}
