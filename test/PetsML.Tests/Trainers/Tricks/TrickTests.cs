using PetsML.Tests.Trainers.Training;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Trainers.Tricks;
using PetsML.Transforms.Batching;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Tricks;

/// <summary>The training tricks as callbacks, and test-time augmentation: each does what it says.</summary>
[TestClass]
public sealed class TrickTests
{
    /// <summary>Captures, per training batch, the images before any callback touched them (before every trick).</summary>
    sealed class Before : ILearnerCallback
    {
        public int Order => CallbackOrder.Tricks - 1;
        public List<Tensor> Images { get; } = [];
        public void BeforeBatch(TrainingContext context)
        {
            if (context.IsTraining) Images.Add(context.Images!.detach().clone().DetachFromDisposeScope());
        }
    }

    /// <summary>Captures, per training batch after the loss, what the loop trained on (after every standard callback).</summary>
    sealed class After(MixHandler mix) : ILearnerCallback
    {
        public int Order => CallbackOrder.Resume + 1;
        public List<(Tensor Images, Tensor Logits, long[] Targets, double Loss, MixDraw Draw)> Seen { get; } = [];
        public void AfterLoss(TrainingContext context)
        {
            if (!context.IsTraining) return;
            Seen.Add((context.Images!.detach().clone().DetachFromDisposeScope(), context.Logits!.detach().clone().DetachFromDisposeScope(),
                context.Targets!.data<long>().ToArray(), context.Loss!.item<float>(), mix.Last!));
        }
    }

    static (TinyCnn Model, Learner Learner, Tensor[] Owned) Make(IEnumerable<ILearnerCallback> callbacks, int trainItems = 64)
    {
        var model = new TinyCnn(3);
        var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: trainItems, validItems: 32, batchSize: 16, seed: 9);
        return (model, new Learner(model, model.Groups(), train, valid, new LearnerOptions { Compute = { Device = "cpu" }, Callbacks = callbacks.ToList() }), owned);
    }

    static void Free(TinyCnn model, Learner learner, IEnumerable<Tensor> tensors)
    {
        learner.Dispose();
        model.Dispose();
        foreach (var t in tensors) t.Dispose();
    }

    [TestMethod]
    [DataRow("mixup")]
    [DataRow("cutmix")]
    public void Mixing_trains_on_targets_that_sum_to_one_with_the_mixed_loss(string kind)
    {
        MixHandler mix = kind == "mixup" ? new MixUp(seed: 5) : new CutMix(seed: 5);
        var before = new Before();
        var after = new After(mix);
        var (model, learner, owned) = Make([before, mix, after]);
        try
        {
            learner.Fit(1, 1e-3);
            Assert.AreEqual(learner.Train.BatchCount, after.Seen.Count);
            for (int b = 0; b < after.Seen.Count; b++)
            {
                var (images, logits, targets, loss, draw) = after.Seen[b];
                var original = before.Images[b];
                var soft = draw.SoftTargets(targets, TinyCnn.Classes);
                foreach (var row in soft) Assert.AreEqual(1.0, row.Sum(), 1e-9, "each item's soft target sums to 1");
                Assert.IsTrue(draw.Weights.All(w => w >= 0 && w <= 1));
                if (kind == "mixup") Assert.IsTrue(draw.Weights.All(w => w >= 0.5), "MixUp keeps λ = max(b, 1 − b)");

                // The loss is the cross-entropy against the soft targets: −mean_i Σ_k soft[i,k]·log_softmax(logits)[i,k].
                using var logProbs = logits.log_softmax(1);
                var lp = logProbs.data<float>().ToArray();
                double expected = 0;
                for (int i = 0; i < soft.Length; i++)
                    for (int k = 0; k < TinyCnn.Classes; k++) expected -= soft[i][k] * lp[i * TinyCnn.Classes + k];
                expected /= soft.Length;
                Assert.AreEqual(expected, loss, 1e-4, $"batch {b}: the mixed loss");

                // The images are the mix the draw says.
                using var partners = tensor(draw.Partners.Select(p => (long)p).ToArray());
                using var partnerImages = original.index_select(0, partners);
                for (int i = 0; i < soft.Length; i++)
                {
                    using var mixed = images[i];
                    using var own = original[i];
                    using var other = partnerImages[i];
                    if (kind == "mixup")
                    {
                        using var want = own.mul(draw.Weights[i]).add(other.mul(1 - draw.Weights[i]));
                        Assert.IsTrue(mixed.allclose(want, rtol: 1e-5, atol: 1e-5), $"batch {b} item {i}: λ·image + (1 − λ)·partner");
                    }
                    else if (draw.Partners[i] != i)
                    {
                        // Noise makes every pixel of two images differ: the share of the own image's pixels is the weight.
                        using var keptOwn = mixed.eq(own).all(0).to(ScalarType.Float32).mean();
                        using var fromOther = mixed.eq(other).all(0);
                        using var fromEither = mixed.eq(own).all(0).logical_or(fromOther);
                        Assert.IsTrue(fromEither.all().item<bool>(), "every pixel comes from the image or its partner");
                        Assert.AreEqual(draw.Weights[i], keptOwn.item<float>(), 1e-6, $"batch {b} item {i}: area kept");
                    }
                }
            }
            Assert.IsTrue(after.Seen.Any(s => s.Draw.Weights.Any(w => w < 0.999)), "something was mixed");
        }
        finally
        {
            Free(model, learner, owned.Concat(before.Images).Concat(after.Seen.SelectMany(s => new[] { s.Images, s.Logits })));
        }
    }

    /// <summary>Snapshots the weights after each epoch (after KeepBestEpoch) and raises the lr after epoch 0 so later epochs get worse.</summary>
    sealed class Snapshots : ILearnerCallback
    {
        public int Order => CallbackOrder.KeepBest + 1;
        public List<Dictionary<string, Tensor>> PerEpoch { get; } = [];
        public void AfterEpoch(TrainingContext context)
        {
            PerEpoch.Add(((TinyCnn)context.Learner.Model).Snapshot());
            context.Optimizer.SetHyper("lr", 0.2);
        }
    }

    [TestMethod]
    public void Keep_best_epoch_restores_the_weights_of_the_epoch_with_the_lowest_valid_loss_and_marks_it()
    {
        var keep = new KeepBestEpoch();
        var snaps = new Snapshots();
        var log = new List<string>();
        var (model, learner, owned) = Make([keep, snaps, new PetsML.Trainers.FineTuning.EpochLogger(log.Add)], trainItems: 128);
        try
        {
            learner.Fit(4, 3e-3);
            var rows = learner.Recorder.Epochs;
            var losses = rows.Select(r => r.ValidLoss!.Value).ToList();
            int best = losses.IndexOf(losses.Min());
            Assert.AreEqual(best, keep.BestEpoch);
            Assert.AreNotEqual(3, best, $"the test needs a best epoch before the last (valid losses {string.Join(", ", losses)})");
            CollectionAssert.AreEqual(rows.Select(r => r.Epoch == best).ToList(), rows.Select(r => r.Kept).ToList(), "only the kept epoch is marked");
            CollectionAssert.AreEqual(rows.Select(r => r.Kept).ToList(), learner.History.Select(r => r.Kept).ToList());
            StringAssert.Contains(Recorder.FormatTable(rows), $"{best} (kept)");
            StringAssert.StartsWith(log[^1], $"kept epoch {best} ", "the live log says which epoch the fit ended with");
            foreach (var (name, value) in model.state_dict())
            {
                Assert.IsTrue(value.equal(snaps.PerEpoch[best][name]).all().item<bool>(), $"{name} is epoch {best}'s");
            }
            using var valid = learner.GetPreds();
            Assert.AreEqual(losses[best], valid.Losses.mean().item<float>(), 1e-4, "the model computes the kept epoch's valid loss");
        }
        finally
        {
            Free(model, learner, owned.Concat(snaps.PerEpoch.SelectMany(d => d.Values)));
        }
    }

    [TestMethod]
    public void Early_stopping_ends_the_fit_after_patience_epochs_without_improvement()
    {
        var stop = new EarlyStopping(patience: 1);
        var snaps = new Snapshots(); // lr 0.2 after epoch 0: the valid loss rises
        var (model, learner, owned) = Make([snaps, stop], trainItems: 128);
        try
        {
            learner.Fit(6, 3e-3);
            var losses = learner.Recorder.Epochs.Select(r => r.ValidLoss!.Value).ToList();
            Assert.IsNotNull(stop.StoppedAfter, $"valid losses {string.Join(", ", losses)}");
            Assert.AreEqual(stop.StoppedAfter + 1, losses.Count, "no epoch ran after the stop");
            Assert.IsTrue(losses[^1] >= losses.Take(losses.Count - 1).Min(), "the last epoch did not improve");
            for (int e = 1; e < losses.Count - 1; e++)
                Assert.IsTrue(losses[e] < losses.Take(e).Min(), "every earlier epoch improved (patience 1)");
        }
        finally
        {
            Free(model, learner, owned.Concat(snaps.PerEpoch.SelectMany(d => d.Values)));
        }
    }

    /// <summary>A seeded linear classifier without BatchNorm: its gradient does not depend on how items are batched.</summary>
    sealed class TinyLinear : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc;

        public TinyLinear(int seed, int inputs) : base(nameof(TinyLinear))
        {
            fc = nn.Linear(inputs, TinyCnn.Classes);
            RegisterComponents();
            using var g = new Generator((ulong)seed);
            using var _ = no_grad();
            foreach (var p in parameters())
            {
                using var init = randn(p.shape, generator: g).mul(0.05);
                p.copy_(init);
            }
        }

        public override Tensor forward(Tensor x) => fc.forward(x.flatten(1));

        public IReadOnlyList<ParameterGroup> Groups() =>
            [new ParameterGroup("head", named_parameters().Select(p => (p.name, p.parameter)).ToList(), new HashSet<string>())];
    }

    [TestMethod]
    public void Gradient_accumulation_of_n_batches_of_b_items_equals_one_batch_of_n_times_b()
    {
        var (x, y) = TinyCnn.MakeData(64, seed: 4);
        using var images = x;
        using var labels = y;
        Dictionary<string, Tensor> Train(int batchSize, IEnumerable<ILearnerCallback> callbacks)
        {
            using var model = new TinyLinear(6, 3 * 12 * 12);
            var data = new TensorBatchSequence(images, labels, batchSize);
            using var learner = new Learner(model, model.Groups(), data, null, new LearnerOptions { Compute = { Device = "cpu" }, Callbacks = callbacks.ToList() });
            learner.Fit(2, 1e-2);
            return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        }

        var accumulated = Train(8, [new GradientAccumulation(32)]);
        var large = Train(32, []);
        var plainSmall = Train(8, []);
        using var init = new TinyLinear(6, 3 * 12 * 12);
        try
        {
            foreach (var (name, value) in large)
            {
                Assert.IsTrue(accumulated[name].allclose(value, rtol: 1e-4, atol: 1e-6), $"{name}: 4 batches of 8 accumulated = 1 batch of 32");
                Assert.IsFalse(plainSmall[name].allclose(value, rtol: 1e-4, atol: 1e-6), $"{name}: without accumulation, batches of 8 train differently");
                Assert.IsFalse(value.allclose(init.state_dict()[name]), $"{name} trained");
            }
        }
        finally
        {
            foreach (var t in accumulated.Values.Concat(large.Values).Concat(plainSmall.Values)) t.Dispose();
        }
    }

    /// <summary>The validation images shifted by 0.1·(epoch + 1): a deterministic "augmentation" per pass.</summary>
    sealed class Shifted(Tensor images, Tensor labels, int batchSize) : IBatchSequence
    {
        public List<int> Epochs { get; } = [];
        public int BatchCount => (int)((images.shape[0] + batchSize - 1) / batchSize);
        public int ItemCount => (int)images.shape[0];
        public IEnumerable<ImageBatch> GetBatches(int epoch, CancellationToken cancellationToken = default)
        {
            Epochs.Add(epoch);
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                long n = Math.Min(batchSize, images.shape[0] - start);
                yield return new ImageBatch(images.narrow(0, start, n).add(0.1 * (epoch + 1)), labels.narrow(0, start, n).clone());
            }
        }
    }

    [TestMethod]
    public void Tta_mixes_the_plain_prediction_with_the_mean_of_the_augmented_ones_as_fastai()
    {
        var (model, learner, owned) = Make([]);
        var (xv, yv) = TinyCnn.MakeData(20, seed: 77);
        try
        {
            learner.Fit(1, 1e-2);
            var plain = new TensorBatchSequence(xv, yv, 8);
            var shifted = new Shifted(xv, yv, 8);
            using var tta = learner.Tta(shifted, plain);
            CollectionAssert.AreEqual(new[] { 0, 1, 2, 3 }, shifted.Epochs, "4 augmented passes, one per augmentation epoch");

            model.eval();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var p0 = model.forward(xv).softmax(1);
            var augmentedMean = stack(Enumerable.Range(0, 4).Select(e => model.forward(xv.add(0.1 * (e + 1))).softmax(1)).ToArray()).mean([0L]);
            var expected = augmentedMean.mul(0.75).add(p0.mul(0.25));
            Assert.IsTrue(tta.Probabilities.allclose(expected, rtol: 1e-5, atol: 1e-6), "0.75·mean(augmented) + 0.25·plain");
            Assert.IsFalse(tta.Probabilities.allclose(p0, rtol: 1e-5, atol: 1e-6), "the augmented passes changed something");
            Assert.IsTrue(tta.Targets.equal(yv).all().item<bool>());
            var expectedLoss = expected.gather(1, yv.unsqueeze(1)).log().neg().squeeze(1);
            Assert.IsTrue(tta.Losses.allclose(expectedLoss, rtol: 1e-4, atol: 1e-6), "losses are −log of the mixed probability of the target");
        }
        finally
        {
            Free(model, learner, owned.Concat([xv, yv]));
        }
    }
}
