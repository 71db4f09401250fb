using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Scheduling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

[TestClass]
public sealed class LearnerTests
{
    /// <summary>A tiny seeded CNN, its generated data and a learner on CPU; disposing it releases everything.</summary>
    private sealed class Rig : IDisposable
    {
        public Rig(int seed = 1, LearnerOptions? options = null, int trainItems = 240, int batchSize = 16)
        {
            Model = new TinyCnn(seed);
            var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: trainItems, batchSize: batchSize, seed: seed + 6);
            Train = train;
            Valid = valid;
            Owned = owned;
            Learner = new Learner(Model, Model.Groups(), train, valid,
                options is null ? new LearnerOptions { Compute = { Device = "cpu" } } : WithCpu(options));
        }

        private static LearnerOptions WithCpu(LearnerOptions o) => new()
        {
            Compute = { Device = "cpu", ChannelsLast = o.Compute.ChannelsLast }, Loss = o.Loss, WeightDecay = o.WeightDecay, Moms = o.Moms, TrainBn = o.TrainBn,
            Progress = o.Progress, Callbacks = o.Callbacks, LearningRate = o.LearningRate,
        };

        public TinyCnn Model { get; }
        public TensorBatchSequence Train { get; }
        public TensorBatchSequence Valid { get; }
        public Tensor[] Owned { get; }
        public Learner Learner { get; }

        public void Dispose()
        {
            Learner.Dispose();
            Model.Dispose();
            foreach (var t in Owned) t.Dispose();
        }
    }

    private static bool SameValues(Tensor a, Tensor b)
    {
        using var same = a.eq(b).all();
        return a.shape.SequenceEqual(b.shape) && same.item<bool>();
    }

    [TestMethod]
    public void Fit_one_cycle_learns_a_separable_three_class_task()
    {
        using var rig = new Rig();
        rig.Learner.FitOneCycle(4, 1e-2);
        var epochs = rig.Learner.Recorder.Epochs;
        Assert.AreEqual(4, epochs.Count);
        var losses = rig.Learner.Recorder.SmoothedLosses;
        Assert.AreEqual(4 * rig.Train.BatchCount, losses.Count);
        Assert.IsTrue(losses[^1] < 0.5 * losses[0], $"smoothed loss fell from {losses[0]} to {losses[^1]}");
        Assert.IsTrue(epochs[^1].ErrorRate < 0.2, $"validation error {epochs[^1].ErrorRate} (chance is 0.667)\n{rig.Learner.Recorder.FormatTable()}");
        Assert.AreEqual(1 - epochs[^1].Accuracy!.Value, epochs[^1].ErrorRate!.Value, 1e-12);
        Assert.AreEqual(4, rig.Learner.History.Count);
        // The recorder logged the scheduled lr of the head: peak at batch pct_start·total.
        int total = 4 * rig.Train.BatchCount;
        Assert.AreEqual(1e-2 / 25, rig.Learner.Recorder.LearningRates[0], 1e-15);
        Assert.AreEqual(Schedules.CombinedCos(0.25, 1e-2 / 25, 1e-2, 1e-2 / 1e5)((double)(total - 1) / total), rig.Learner.Recorder.LearningRates[^1], 1e-15);
    }

    [TestMethod]
    public void Same_seed_gives_identical_epoch_tables()
    {
        EpochRecord[] Run()
        {
            using var rig = new Rig(seed: 3);
            rig.Learner.FitOneCycle(2, 5e-3);
            return rig.Learner.Recorder.Epochs.ToArray();
        }
        var a = Run();
        var b = Run();
        for (int i = 0; i < a.Length; i++)
        {
            Assert.AreEqual(a[i].TrainLoss, b[i].TrainLoss, 0.0);
            Assert.AreEqual(a[i].ValidLoss, b[i].ValidLoss);
            Assert.AreEqual(a[i].ErrorRate, b[i].ErrorRate);
        }
    }

    [TestMethod]
    public void Freeze_trains_only_head_and_batchnorm_and_unfreeze_trains_all_and_both_clear_optimizer_state()
    {
        using var rig = new Rig();
        var learner = rig.Learner;
        learner.Fit(1, 1e-3);
        Assert.IsTrue(learner.Optimizer.StepCount(0, 0) > 0);

        learner.Freeze();
        Assert.AreEqual(0, learner.Optimizer.StepCount(0, 0), "freeze clears Adam state");
        Assert.AreEqual(0, learner.Optimizer.StepCount(2, 0));
        var before = rig.Model.Snapshot();
        learner.Fit(1, 1e-3);
        var after = rig.Model.Snapshot();
        foreach (var g in learner.ParameterGroups.Take(2))
            foreach (var (name, p) in g.Parameters)
            {
                bool isNorm = g.IsNorm(name);
                Assert.AreEqual(isNorm, p.requires_grad, name);
                Assert.AreEqual(isNorm, !SameValues(before[name], after[name]), $"{name} changed only if it is a norm parameter");
                if (!isNorm) Assert.IsNull(p.grad, $"{name} gets no gradient while frozen");
            }
        foreach (var (name, p) in learner.ParameterGroups[2].Parameters)
        {
            Assert.IsTrue(p.requires_grad);
            Assert.IsFalse(SameValues(before[name], after[name]), $"{name} (head) trained");
        }
        // Frozen non-norm parameters got no Adam state; the head did.
        Assert.AreEqual(0, learner.Optimizer.StepCount(0, 0), "conv1.weight frozen");
        Assert.AreEqual(rig.Train.BatchCount, learner.Optimizer.StepCount(2, 0));

        learner.Unfreeze();
        Assert.AreEqual(0, learner.Optimizer.StepCount(2, 0), "unfreeze clears Adam state");
        var before2 = rig.Model.Snapshot();
        learner.Fit(1, 1e-3);
        var after2 = rig.Model.Snapshot();
        foreach (var (name, p) in learner.ParameterGroups.SelectMany(g => g.Parameters))
        {
            Assert.IsTrue(p.requires_grad, name);
            Assert.IsFalse(SameValues(before2[name], after2[name]), $"{name} trained after unfreeze");
        }
        foreach (var t in before.Values.Concat(after.Values).Concat(before2.Values).Concat(after2.Values)) t.Dispose();
    }

    [TestMethod]
    public void A_huge_learning_rate_raises_training_diverged()
    {
        using var rig = new Rig();
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() => rig.Learner.Fit(10, 1e3));
        StringAssert.Contains(e.Message, "diverged");
        StringAssert.Contains(e.Message, "lower learning rate");
        StringAssert.Contains(e.Message, "LrFind");
        Assert.IsFalse(double.IsFinite(e.Loss));
    }

    /// <summary>Cancels the token after a given number of training batches and keeps a copy of the weights then.</summary>
    private sealed class CancelAfter(CancellationTokenSource cts, int batches) : ILearnerCallback
    {
        public int AfterBatchCalls { get; private set; }
        public bool AfterFitCalled { get; private set; }
        public Dictionary<string, Tensor>? WeightsAtCancel { get; private set; }

        public void AfterBatch(TrainingContext context)
        {
            if (!context.IsTraining) return;
            AfterBatchCalls++;
            if (context.Iteration == batches)
            {
                WeightsAtCancel = ((TinyCnn)context.Learner.Model).Snapshot();
                cts.Cancel();
            }
        }

        public void AfterFit(TrainingContext context) => AfterFitCalled = true;
    }

    [TestMethod]
    public void Cancellation_stops_between_batches_keeping_the_last_finished_batch()
    {
        using var rig = new Rig();
        using var cts = new CancellationTokenSource();
        var cb = new CancelAfter(cts, 3);
        Assert.ThrowsExactly<OperationCanceledException>(() => rig.Learner.Fit(2, 1e-3, [cb], cts.Token));
        Assert.AreEqual(3, cb.AfterBatchCalls);
        Assert.IsTrue(cb.AfterFitCalled);
        var now = rig.Model.Snapshot();
        foreach (var (name, t) in cb.WeightsAtCancel!)
        {
            Assert.IsTrue(SameValues(t, now[name]), name);
            t.Dispose();
        }
        foreach (var t in now.Values) t.Dispose();
        // The learner stays usable.
        rig.Learner.Fit(1, 1e-3);
        Assert.AreEqual(1, rig.Learner.Recorder.Epochs.Count);
    }

    [TestMethod]
    public void Lr_find_follows_the_exponential_grid_and_restores_weights_and_optimizer_state()
    {
        using var rig = new Rig();
        var learner = rig.Learner;
        learner.Fit(1, 1e-3); // so the optimizer has state worth restoring
        var weights = rig.Model.Snapshot();
        int steps = learner.Optimizer.StepCount(2, 0);
        var lrBefore = learner.Optimizer.GetHyper("lr");
        var momBefore = learner.Optimizer.GetHyper("mom");
        using var stateBefore = learner.Optimizer.CaptureState();

        var result = learner.LrFind();

        Assert.IsTrue(result.LearningRates.Length is > 15 and <= 100, $"{result.LearningRates.Length} points");
        for (int i = 0; i < result.LearningRates.Length; i++)
            Assert.AreEqual(1e-7 * Math.Pow(10 / 1e-7, i / 100.0), result.LearningRates[i], result.LearningRates[i] * 1e-12);
        if (result.LearningRates.Length < 100)
        {
            // Stopped early: the last smoothed loss exceeded 4× the best (or was NaN).
            double last = result.Losses[^1], best = result.Losses.Where(double.IsFinite).Min();
            Assert.IsTrue(double.IsNaN(last) || last > 4 * best);
        }
        Assert.IsTrue(double.IsFinite(result.Valley) && result.Valley > 0);
        Assert.IsTrue(double.IsFinite(result.Minimum) && double.IsFinite(result.Steep));

        var restored = rig.Model.Snapshot();
        foreach (var (name, t) in weights)
            Assert.IsTrue(SameValues(t, restored[name]), $"{name} restored exactly");
        Assert.AreEqual(steps, learner.Optimizer.StepCount(2, 0));
        CollectionAssert.AreEqual(lrBefore, learner.Optimizer.GetHyper("lr"));
        CollectionAssert.AreEqual(momBefore, learner.Optimizer.GetHyper("mom"));
        using (var stateAfter = learner.Optimizer.CaptureState())
            for (int g = 0; g < 3; g++)
                for (int i = 0; i < stateBefore.States[g].Length; i++)
                {
                    var (x, y) = (stateBefore.States[g][i], stateAfter.States[g][i]);
                    Assert.AreEqual(x is null, y is null);
                    if (x is null || y is null) continue;
                    Assert.AreEqual(x.Step, y.Step);
                    Assert.IsTrue(SameValues(x.GradAvg, y.GradAvg) && SameValues(x.SqrAvg, y.SqrAvg), $"Adam moments of group {g} parameter {i} restored");
                }
        Assert.AreEqual(1, learner.History.Count, "LrFind adds no epoch rows");
        foreach (var t in weights.Values.Concat(restored.Values)) t.Dispose();
    }

    [TestMethod]
    public void Live_tensor_count_does_not_grow_across_epochs()
    {
        using var rig = new Rig();
        // Any tensor the loop forgets to dispose lands in this scope (which also keeps the garbage collector from
        // finalising it), so the scope's size and the live-tensor count both expose a leak.
        using var outer = NewDisposeScope();
        rig.Learner.Fit(1, 1e-3); // creates the optimizer state
        int scopedAfterOne = outer.DisposablesCount;
        long liveAfterOne = Tensor.TotalCount;
        rig.Learner.Fit(3, 1e-3);
        using (rig.Learner.GetPreds()) { }
        using (var image = rig.Owned[2][0]) rig.Learner.Predict(image);
        Assert.AreEqual(scopedAfterOne, outer.DisposablesCount, "tensors left behind by fit, get_preds or predict");
        Assert.IsTrue(Tensor.TotalCount <= liveAfterOne, $"live tensors grew from {liveAfterOne} to {Tensor.TotalCount}");
    }

    [TestMethod]
    public void Options_are_validated_and_a_learner_without_validation_set_records_none()
    {
        using var model = new TinyCnn(1);
        var (train, _, owned) = TinyCnn.MakeSequences();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new Learner(model, model.Groups(), train, null, new LearnerOptions { Compute = { Device = "cpu" }, WeightDecay = -1 }));
        Assert.AreEqual("WeightDecay", e.ParamName);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new Learner(model, model.Groups(), train, null, new LearnerOptions { Compute = { Device = "cpu" }, Moms = (0.95, 1.2, 0.95) }));

        using var learner = new Learner(model, model.Groups(), train, null,
            new LearnerOptions { Compute = { Device = "cpu" }, Loss = PetsML.Trainers.Losses.ClassificationLoss.LabelSmoothing() });
        learner.Fit(1, 1e-3);
        var row = learner.Recorder.Epochs.Single();
        Assert.IsNull(row.ValidLoss);
        Assert.IsNull(row.ErrorRate);
        Assert.IsTrue(double.IsFinite(row.TrainLoss));
        StringAssert.Contains(learner.Recorder.FormatTable(), "None");
        foreach (var t in owned) t.Dispose();
    }

    /// <summary>Records the optimizer's hyper-parameters at every training batch of every fit.</summary>
    private sealed class HyperLog : ILearnerCallback
    {
        public List<(double[] Lr, double Mom)> Batches { get; } = [];
        public int Order => CallbackOrder.Schedule + 5; // after the scheduler has set this batch's values
        public void BeforeBatch(TrainingContext context)
        {
            if (context.IsTraining) Batches.Add((context.Optimizer.GetHyper("lr"), context.Optimizer.GetHyper("mom")[0]));
        }
    }

    [TestMethod]
    public void Fine_tune_runs_a_warm_up_only_frozen_phase_then_a_discriminative_cycle()
    {
        // 92 single-image batches per epoch, as the pets lesson's 92 batches.
        var log = new HyperLog();
        using var rig = new Rig(options: new LearnerOptions { Callbacks = [log] }, trainItems: 92, batchSize: 1);
        Assert.AreEqual(92, rig.Train.BatchCount);
        rig.Learner.FineTune(1);
        Assert.AreEqual(184, log.Batches.Count);
        double[] Head(int k) => log.Batches[k].Lr;
        // Phase 1: slice(2e-3) → [2e-4, 2e-4, 2e-3], div 25, pct_start 0.99.
        Assert.AreEqual(8e-5, Head(0)[2], 1e-18);
        Assert.AreEqual(8e-6, Head(0)[0], 1e-19);
        double t45 = 45.0 / 92 / 0.99;
        Assert.AreEqual(8e-5 + (1 + Math.Cos(Math.PI * (1 - t45))) * (2e-3 - 8e-5) / 2, Head(45)[2], 1e-15);
        Assert.AreEqual(2e-3, Head(91)[2], 0.01e-3);
        for (int k = 1; k < 92; k++) Assert.IsTrue(Head(k)[2] > Head(k - 1)[2], $"phase 1 still warming up at k={k}");
        Assert.AreEqual(0.95, log.Batches[0].Mom, 1e-15);
        // Phase 2: base_lr halved, slice(1e-3/100, 1e-3) → [1e-5, 1e-4, 1e-3], div 5, pct_start 0.3.
        double[] peaks = [1e-5, 1e-4, 1e-3];
        for (int g = 0; g < 3; g++) Assert.AreEqual(peaks[g] / 5, Head(92)[g], peaks[g] * 1e-12);
        int peakBatch = 92 + (int)Math.Ceiling(0.3 * 92); // the first batch with pos ≥ 0.3
        Assert.AreEqual(1e-3, log.Batches.Skip(92).Max(b => b.Lr[2]), 1e-3 * 1e-3);
        Assert.IsTrue(Head(183)[2] < 1e-5, "phase 2 anneals");
        Assert.IsTrue(Head(peakBatch)[2] > Head(peakBatch + 10)[2]);
        Assert.AreEqual(2, rig.Learner.History.Count);
        Assert.IsTrue(rig.Learner.ParameterGroups.SelectMany(g => g.Parameters).All(p => p.Parameter.requires_grad), "unfrozen at the end");
    }

    [TestMethod]
    public void Get_preds_returns_softmax_targets_and_per_item_losses_and_predict_agrees()
    {
        using var rig = new Rig();
        rig.Learner.Fit(1, 3e-3);
        using var preds = rig.Learner.GetPreds();
        Assert.AreEqual(rig.Valid.ItemCount, preds.Count);
        CollectionAssert.AreEqual(new long[] { rig.Valid.ItemCount, TinyCnn.Classes }, preds.Probabilities.shape);
        var probs = preds.Probabilities.data<float>().ToArray();
        var targets = preds.Targets.data<long>().ToArray();
        var losses = preds.Losses.data<float>().ToArray();
        CollectionAssert.AreEqual(rig.Owned[3].data<long>().ToArray(), targets, "validation order kept");
        for (int i = 0; i < preds.Count; i++)
        {
            Assert.AreEqual(1.0, probs[i * 3] + probs[i * 3 + 1] + probs[i * 3 + 2], 1e-5);
            Assert.AreEqual(-Math.Log(probs[i * 3 + targets[i]]), losses[i], 1e-4, "cross-entropy = −log p(target)");
        }
        Assert.AreEqual(1 - rig.Learner.Recorder.Epochs[^1].ErrorRate!.Value, preds.Accuracy(), 1e-9);
        Assert.AreEqual(rig.Learner.Recorder.Epochs[^1].ValidLoss!.Value, losses.Average(), 1e-5);

        using var first = rig.Owned[2][0];
        var single = rig.Learner.Predict(first);
        for (int c = 0; c < 3; c++) Assert.AreEqual(probs[c], single.Probabilities[c], 1e-5);
        Assert.AreEqual(Array.IndexOf(single.Probabilities, single.Probabilities.Max()), single.ClassIndex);
    }

    [TestMethod]
    public void Channels_last_gives_the_same_predictions()
    {
        using var plain = new Rig();
        using var cl = new Rig(options: new LearnerOptions { Compute = { ChannelsLast = true } });
        using var a = plain.Learner.GetPreds();
        using var b = cl.Learner.GetPreds();
        Assert.IsTrue(a.Probabilities.allclose(b.Probabilities, rtol: 1e-4, atol: 1e-5));
    }

    [TestMethod]
    public void Describe_loop_lists_events_with_the_callbacks_that_handle_them()
    {
        var progress = new Progress<BatchProgress>();
        using var rig = new Rig(options: new LearnerOptions { Progress = progress });
        var text = rig.Learner.DescribeLoop([new LrFinder()]);
        string Line(string evt) => text.Split('\n').First(l => l.Contains("- " + evt));
        StringAssert.Contains(Line("BeforeFit"), "[Recorder, LrFinder]");
        StringAssert.Contains(Line("BeforeStep"), "[]");
        StringAssert.Contains(Line("AfterBatch"), "[Recorder, LrFinder, ProgressReporter]");
        StringAssert.Contains(Line("BeforeValidate"), "Recorder, LrFinder, ProgressReporter");
        Assert.IsTrue(text.IndexOf("AfterLoss", StringComparison.Ordinal) < text.IndexOf("(backward)", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Progress_reports_every_batch_of_both_phases()
    {
        var reports = new List<BatchProgress>();
        using var rig = new Rig(options: new LearnerOptions { Progress = new SyncProgress(reports.Add) });
        rig.Learner.Fit(1, 1e-3);
        Assert.AreEqual(rig.Train.BatchCount + rig.Valid.BatchCount, reports.Count);
        var lastTrain = reports.Last(r => r.Phase == TrainingPhase.Train);
        Assert.AreEqual(rig.Train.BatchCount, lastTrain.Batch);
        Assert.AreEqual(rig.Learner.Recorder.Epochs[0].TrainLoss, lastTrain.Loss, 1e-12);
        Assert.AreEqual(rig.Learner.Recorder.Epochs[0].ValidLoss!.Value, reports[^1].Loss, 1e-6);
        Assert.IsTrue(reports.All(r => r.ImagesPerSecond > 0));
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => report(value);
    }
}
