using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

/// <summary>The learner's data epoch: every training epoch of its life draws new data, across fits, and checkpoints keep the count.</summary>
[TestClass]
public sealed class DataEpochTests
{
    /// <summary>A training sequence that records the epoch numbers asked for and a copy of each epoch's first batch.</summary>
    sealed class Recording(IBatchSequence inner) : IBatchSequence, IDisposable
    {
        public List<int> Epochs { get; } = [];
        public List<Tensor> FirstImages { get; } = [];
        public int BatchCount => inner.BatchCount;
        public int ItemCount => inner.ItemCount;

        public IEnumerable<ImageBatch> GetBatches(int epoch, CancellationToken cancellationToken = default)
        {
            Epochs.Add(epoch);
            bool first = true;
            foreach (var batch in inner.GetBatches(epoch, cancellationToken))
            {
                if (first) FirstImages.Add(batch.Images.detach().clone().DetachFromDisposeScope());
                first = false;
                yield return batch;
            }
        }

        public void Dispose()
        {
            foreach (var t in FirstImages) t.Dispose();
        }
    }

    sealed class Rig : IDisposable
    {
        public Rig()
        {
            Model = new TinyCnn(3);
            var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: 64, validItems: 16, batchSize: 16, seed: 9);
            Owned = owned;
            Train = new Recording(train);
            Learner = new Learner(Model, Model.Groups(), Train, valid, new LearnerOptions { Compute = { Device = "cpu" } });
        }

        public TinyCnn Model { get; }
        public Recording Train { get; }
        public Tensor[] Owned { get; }
        public Learner Learner { get; }

        public void Dispose()
        {
            Learner.Dispose();
            Model.Dispose();
            Train.Dispose();
            foreach (var t in Owned) t.Dispose();
        }
    }

    [TestMethod]
    public void The_unfrozen_fit_of_fine_tune_draws_new_data_instead_of_replaying_the_frozen_fit()
    {
        using var rig = new Rig();
        rig.Learner.FineTune(2, freezeEpochs: 1);
        CollectionAssert.AreEqual(new[] { 0, 1, 2 }, rig.Train.Epochs, "one new data epoch per epoch of the fine_tune");
        Assert.AreEqual(3, rig.Learner.DataEpoch);
        Assert.IsFalse(rig.Train.FirstImages[0].eq(rig.Train.FirstImages[1]).all().item<bool>(),
            "the unfrozen fit's first batch differs from the frozen fit's");
        CollectionAssert.AreEqual(new[] { 0, 1 }, rig.Learner.History.Select(r => r.Epoch).Skip(1).ToArray(),
            "the epoch table still numbers epochs per fit");
    }

    [TestMethod]
    public void Lr_find_epochs_count_so_a_later_fine_tune_does_not_replay_them()
    {
        using var rig = new Rig();
        rig.Learner.LrFind(numIt: 8, stopDiv: false); // 8 iterations over 4 batches an epoch: 3 epochs asked (the last one cancelled)
        int afterLrFind = rig.Learner.DataEpoch;
        CollectionAssert.AreEqual(Enumerable.Range(0, afterLrFind).ToArray(), rig.Train.Epochs);
        rig.Learner.FineTune(1, freezeEpochs: 1);
        CollectionAssert.AreEqual(Enumerable.Range(0, afterLrFind + 2).ToArray(), rig.Train.Epochs);
    }

    [TestMethod]
    public void A_fit_resumed_at_epoch_k_draws_the_data_of_epoch_k()
    {
        using var rig = new Rig();
        rig.Learner.FitOneCycle(3, 1e-2, startEpoch: 2);
        CollectionAssert.AreEqual(new[] { 2 }, rig.Train.Epochs, "skipped epochs count as drawn");
    }

    [TestMethod]
    public void The_checkpoint_saves_and_restores_the_data_epoch()
    {
        using var rig = new Rig();
        rig.Learner.LrFind(numIt: 4, stopDiv: false);
        rig.Learner.FineTune(1, freezeEpochs: 1);
        var plan = FineTunePlan.WithDefaults(1, 1, 2e-3);
        var path = Path.Combine(Path.GetTempPath(), $"petsml-dataepoch-{Guid.NewGuid():N}.ckpt");
        try
        {
            TrainingCheckpoint.Capture(rig.Learner, plan, 2, ["a", "b", "c"]).Save(path);
            var loaded = TrainingCheckpoint.Load(path);
            Assert.AreEqual(rig.Learner.DataEpoch, loaded.DataEpoch);
            Assert.IsTrue(loaded.DataEpoch > 2, "lr_find's epochs are in the count");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
