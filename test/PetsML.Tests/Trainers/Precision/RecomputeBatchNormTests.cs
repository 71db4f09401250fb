using PetsML.Tests.Trainers.Training;
using PetsML.Trainers.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Precision;

[TestClass]
public sealed class RecomputeBatchNormTests
{
    [TestMethod]
    public void Running_statistics_become_the_plain_average_of_the_batch_statistics()
    {
        using var model = new TinyCnn(2);
        var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: 48, validItems: 16, batchSize: 16, seed: 3);
        try
        {
            using var learner = new Learner(model, model.Groups(), train, valid, new LearnerOptions { Compute = { Device = "cpu" } });
            learner.Fit(1, 1e-2); // running statistics now hold an exponential average
            model.train();
            Assert.AreEqual(2, learner.RecomputeBatchNormStatistics(batches: 2, data: train));
            Assert.IsTrue(model.training, "the model's mode is restored");

            // Expected: the mean over the two batches of conv1's per-channel batch mean (equal batch sizes).
            var conv1 = (TorchSharp.Modules.Conv2d)model.named_children().Single(c => c.name == "conv1").module;
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var means = train.GetBatches(0, default).Take(2).Select(b => { using (b) return conv1.forward(b.Images).mean([0L, 2L, 3L]); }).ToList();
            var expected = stack(means).mean([0L]);
            var actual = model.state_dict()["bn1.running_mean"];
            float maxDiff = (actual - expected).abs().max().item<float>();
            Assert.IsTrue(maxDiff < 1e-5f, $"running_mean is the plain average of the batch means (max |Δ| {maxDiff})");
            Assert.AreEqual(2L, model.state_dict()["bn1.num_batches_tracked"].item<long>());
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }
}
