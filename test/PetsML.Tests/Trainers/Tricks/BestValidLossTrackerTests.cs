using PetsML.Tests.Trainers.Training;
using PetsML.Trainers.Training;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Tricks;

/// <summary>The one "best validation loss so far" (keep-best and early stopping build on it), and the named callback order.</summary>
[TestClass]
public sealed class BestValidLossTrackerTests
{
    /// <summary>Records what the base decided for each epoch.</summary>
    sealed class Decisions(double minDelta) : BestValidLossTracker(minDelta)
    {
        public List<bool> Improved { get; } = [];
        public override int Order => CallbackOrder.KeepBest;
        protected override void OnImproved(TrainingContext context) => Improved.Add(true);
        protected override void OnNotImproved(TrainingContext context) => Improved.Add(false);
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.05)]
    public void Improvement_is_a_loss_below_the_best_so_far_minus_min_delta(double minDelta)
    {
        var tracker = new Decisions(minDelta);
        var model = new TinyCnn(3);
        var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: 64, validItems: 32, batchSize: 16, seed: 9);
        // A high constant lr makes some epochs worse than earlier ones, so both branches are taken.
        using var learner = new Learner(model, model.Groups(), train, valid, new LearnerOptions { Compute = { Device = "cpu" }, LearningRate = 0.05, Callbacks = [tracker] });
        try
        {
            learner.Fit(6);
            var losses = learner.Recorder.Epochs.Select(r => r.ValidLoss!.Value).ToList();
            var expected = new List<bool>();
            double best = double.PositiveInfinity;
            int? bestEpoch = null;
            for (int i = 0; i < losses.Count; i++)
            {
                bool better = losses[i] - minDelta < best;
                expected.Add(better);
                if (better) (best, bestEpoch) = (losses[i], i);
            }
            CollectionAssert.AreEqual(expected, tracker.Improved, "losses: " + string.Join(", ", losses));
            Assert.AreEqual(best, tracker.BestValidLoss);
            Assert.AreEqual(bestEpoch, tracker.BestEpoch);

            learner.Fit(1);
            CollectionAssert.AreEqual(expected.Append(true).ToList(), tracker.Improved, "every fit starts afresh: its first epoch is an improvement");
        }
        finally
        {
            model.Dispose();
            foreach (var t in owned) t.Dispose();
        }
    }

    [TestMethod]
    public void The_standard_callbacks_run_in_the_named_order_after_each_epoch()
    {
        var model = new TinyCnn(3);
        var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: 32, validItems: 16, batchSize: 16, seed: 9);
        using var folder = new PetsML.Tests.Support.TempFolder();
        var plan = new FineTunePlan(2, 1, 2e-3, 100, 0.3, 5);
        // Registered in the reverse of the order they must run in.
        ILearnerCallback[] callbacks = [new CheckpointCallback(Path.Combine(folder.Path, "c"), plan, ["a", "b", "c"]),
            new EarlyStopping(), new PetsML.Trainers.FineTuning.EpochLogger(_ => { }), new KeepBestEpoch()];
        using var learner = new Learner(model, model.Groups(), train, valid, new LearnerOptions { Compute = { Device = "cpu" }, Callbacks = callbacks.ToList() });
        try
        {
            var line = learner.DescribeLoop().Split('\n').Single(l => l.Contains("- AfterEpoch"));
            var names = line[(line.IndexOf('[') + 1)..line.IndexOf(']')].Split(", ");
            CollectionAssert.AreEqual(new[] { "Recorder", "KeepBestEpoch", "EpochLogger", "EarlyStopping", "CheckpointCallback" }, names, line);
        }
        finally
        {
            model.Dispose();
            foreach (var t in owned) t.Dispose();
        }
    }
}
