using PetsML.Tests.Support;
using PetsML.Tests.Trainers.Training;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Precision;

[TestClass]
public sealed class Bf16MixedTrainingTests
{
    private const int Size = 32;

    /// <summary>A random-init ResNet-18 classifier for TinyCnn's 3-class stripes task at 32 px, and a bf16-mixed learner.</summary>
    private sealed class Rig : IDisposable
    {
        public Rig(int seed, int trainItems = 240, int batchSize = 16, double lr = 1e-3, TrainingPrecision precision = TrainingPrecision.Bf16Mixed)
        {
            Model = ImageClassifier.Create(ResNetArchitecture.ResNet18, TinyCnn.Classes, seed, pretrained: false);
            var (train, valid, owned) = TinyCnn.MakeSequences(trainItems: trainItems, validItems: 64, batchSize: batchSize, seed: seed + 6, size: Size);
            Train = train;
            Valid = valid;
            Owned = owned;
            Learner = new Learner(Model, Model.GetParameterGroups(), train, valid, new LearnerOptions
            {
                Compute = { Device = "cpu", Precision = precision, ChannelsLast = true }, LearningRate = lr,
            });
        }

        public ImageClassifier Model { get; }
        public TensorBatchSequence Train { get; }
        public TensorBatchSequence Valid { get; }
        public Tensor[] Owned { get; }
        public Learner Learner { get; }

        public Bf16MixedTrainingStep Step => (Bf16MixedTrainingStep)typeof(Learner)
            .GetField("_step", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(Learner)!;

        public void Dispose()
        {
            Learner.Dispose();
            Model.Dispose();
            foreach (var t in Owned) t.Dispose();
        }
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static bool Same(Tensor a, Tensor b)
    {
        using var same = a.eq(b).all();
        return a.shape.SequenceEqual(b.shape) && same.item<bool>();
    }

    [TestMethod]
    public void Master_weights_stay_fp32_and_keep_updates_that_bf16_weights_would_swallow()
    {
        // One batch at a tiny learning rate: Adam moves each weight by about lr = 1e-5, far below bf16's spacing
        // (2^-8 relative: 0.002 at 0.5) for most weights.
        using var rig = new Rig(seed: 2, trainItems: 16, batchSize: 16, lr: 1e-5);
        var name = "body.layer1.0.conv1.weight";
        var master = rig.Model.named_parameters().Single(p => p.name == name).parameter;
        using var before = master.detach().clone();
        rig.Learner.Fit(1);

        Assert.IsTrue(rig.Model.parameters().All(p => p.dtype == ScalarType.Float32), "every master parameter is fp32");
        using var scope = NewDisposeScope();
        var changed = master.ne(before);
        long changedCount = changed.sum().item<long>();
        Assert.IsTrue(changedCount > master.numel() / 2, $"the fp32 master took the update: {changedCount} of {master.numel()} weights moved");
        // The same update applied to bf16 weights is lost: bf16(before + Δ) == bf16(before) for most moved weights.
        var swallowed = master.to(ScalarType.BFloat16).eq(before.to(ScalarType.BFloat16)).logical_and(changed).sum().item<long>();
        Assert.IsTrue(swallowed > changedCount / 2, $"{swallowed} of {changedCount} updates are below bf16 resolution");
        // The working copy is bf16 and holds the rounded masters.
        var working = rig.Step.WorkingCopy.named_parameters().Single(p => p.name == name).parameter;
        Assert.AreEqual(ScalarType.BFloat16, working.dtype);
        Assert.IsTrue(Same(working, master.to(ScalarType.BFloat16)), "the working weights are the masters rounded to bf16");
        // BatchNorm stays fp32 in the working copy.
        Assert.IsTrue(rig.Step.WorkingCopy.named_modules().Select(m => m.module).OfType<BatchNorm>()
            .SelectMany(b => b.parameters().Concat(b.buffers()).Where(t => t.is_floating_point())).All(t => t.dtype == ScalarType.Float32));
    }

    [TestMethod]
    public void Frozen_masters_are_untouched_and_their_working_weights_compute_no_gradient()
    {
        using var rig = new Rig(seed: 3, trainItems: 32, batchSize: 16, lr: 1e-2);
        rig.Learner.Freeze();
        var frozenName = "body.layer2.0.conv1.weight";
        var frozen = rig.Model.named_parameters().Single(p => p.name == frozenName).parameter;
        var head = rig.Model.named_parameters().Single(p => p.name == "head.8.weight").parameter;
        using var frozenBefore = frozen.detach().clone();
        using var headBefore = head.detach().clone();
        rig.Learner.Fit(1);
        Assert.IsTrue(Same(frozen, frozenBefore), "a frozen master does not move");
        using (var g = frozen.grad) Assert.IsNull(g, "a frozen master gets no gradient");
        Assert.IsFalse(Same(head, headBefore), "the head trains");
        var working = rig.Step.WorkingCopy.named_parameters().Single(p => p.name == frozenName).parameter;
        Assert.IsFalse(working.requires_grad, "the working copy follows the masters' requires_grad");
        using (var g = working.grad) Assert.IsTrue(g is null || g.count_nonzero().item<long>() == 0);
    }

    [TestMethod]
    public void A_bf16_mixed_learner_learns_and_its_checkpoint_is_plain_fp32_that_predicts_the_same_classes()
    {
        using var rig = new Rig(seed: 1);
        rig.Learner.FitOneCycle(3, 1e-2);
        Assert.AreEqual(TrainingPrecision.Bf16Mixed, rig.Learner.Precision);
        var losses = rig.Learner.Recorder.SmoothedLosses;
        var epochs = rig.Learner.Recorder.Epochs;
        Assert.IsTrue(losses[^1] < 0.6 * losses[0], $"smoothed loss fell from {losses[0]} to {losses[^1]}");
        Assert.IsTrue(epochs[^1].ErrorRate < 0.35, $"validation error {epochs[^1].ErrorRate} (chance 0.667)\n{rig.Learner.Recorder.FormatTable()}");

        // The model (what checkpoints and Save see) is fp32 under the plain names, with the running statistics the
        // working copy accumulated.
        var state = rig.Model.state_dict();
        using (var fresh = ImageClassifier.Create(ResNetArchitecture.ResNet18, TinyCnn.Classes, 0, pretrained: false))
            CollectionAssert.AreEquivalent(fresh.state_dict().Keys.ToList(), state.Keys.ToList());
        Assert.IsTrue(state.Values.Where(t => t.is_floating_point()).All(t => t.dtype == ScalarType.Float32));
        var workingState = rig.Step.WorkingCopy.state_dict();
        Assert.IsTrue(Same(state["body.bn1.running_mean"], workingState["body.bn1.running_mean"]));
        Assert.AreEqual(3L * rig.Train.BatchCount, state["body.bn1.num_batches_tracked"].item<long>());

        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "bf16-trained.dat");
        rig.Model.save(path);
        using var loaded = ImageClassifier.Create(ResNetArchitecture.ResNet18, TinyCnn.Classes, 99, pretrained: false);
        loaded.load(path);
        loaded.eval();

        using var preds = rig.Learner.GetPreds(); // bf16 working copy, eval mode
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var fp32Logits = cat(rig.Valid.GetBatches(0, default).Select(b => { using (b) return loaded.forward(b.Images); }).ToList(), 0);
        var fp32Classes = fp32Logits.argmax(1);
        var bf16Classes = preds.Probabilities.argmax(1);
        double agreement = fp32Classes.eq(bf16Classes).to(ScalarType.Float32).mean().item<float>();
        Assert.IsTrue(agreement >= 0.95, $"fp32 reload and bf16 working copy agree on {agreement:P0} of the validation classes");
        rig.Model.eval();
        var inMemory = cat(rig.Valid.GetBatches(0, default).Select(b => { using (b) return rig.Model.forward(b.Images); }).ToList(), 0);
        Assert.IsTrue(Same(inMemory, fp32Logits), "the reloaded fp32 model is the trained master model");

        // The ML.NET transformer over the same fp32 model: bf16 inference agrees with fp32 on the classes.
        using var transformer = new ImageClassifierTransformer(loaded, ResNetArchitecture.ResNet18, ["h", "v", "c"], "Features", Size, "cpu", null, ownsModel: false);
        var images = cat(rig.Valid.GetBatches(0, default).Select(b => { using (b) return b.Images.alias(); }).ToList(), 0);
        var fp32Probs = transformer.PredictProbabilities(images);
        transformer.InferencePrecision = TrainingPrecision.Bf16Mixed;
        transformer.InferenceChannelsLast = true;
        Assert.AreEqual(TrainingPrecision.Bf16Mixed, transformer.ResolvedInferencePrecision);
        var bf16Probs = transformer.PredictProbabilities(images);
        int agree = Enumerable.Range(0, fp32Probs.Length).Count(i => ArgMax(fp32Probs[i]) == ArgMax(bf16Probs[i]));
        double maxDiff = Enumerable.Range(0, fp32Probs.Length).Max(i => fp32Probs[i].Zip(bf16Probs[i], (a, b) => Math.Abs(a - b)).Max());
        Assert.IsTrue(agree >= 0.95 * fp32Probs.Length, $"bf16 inference agrees with fp32 on {agree} of {fp32Probs.Length}");
        Assert.IsTrue(maxDiff > 0 && maxDiff < 0.1, $"bf16 probabilities differ from fp32 by rounding only (max |Δ| {maxDiff})");
        transformer.InferencePrecision = TrainingPrecision.Fp32;
        transformer.InferenceChannelsLast = false;
        var again = transformer.PredictProbabilities(images);
        Assert.IsTrue(Enumerable.Range(0, again.Length).All(i => again[i].SequenceEqual(fp32Probs[i])), "back to fp32: the fp32 model again");
    }

    [TestMethod]
    public void After_lr_find_restores_the_masters_evaluation_runs_on_them_again()
    {
        using var rig = new Rig(seed: 4, trainItems: 64, batchSize: 16);
        using var before = rig.Model.state_dict()["body.conv1.weight"].detach().clone();
        rig.Learner.LrFind(numIt: 6);
        Assert.IsTrue(Same(rig.Model.state_dict()["body.conv1.weight"], before), "lr_find put the fp32 weights back");
        // lr_find trained the working copy up to lr 10; evaluation must refresh it from the restored masters.
        using (rig.Learner.GetPreds()) { }
        var working = rig.Step.WorkingCopy.state_dict()["body.conv1.weight"];
        using var rounded = rig.Model.state_dict()["body.conv1.weight"].to(ScalarType.BFloat16);
        Assert.IsTrue(Same(working, rounded), "evaluation runs on the restored masters");
    }

    [TestMethod]
    public void Recomputed_batchnorm_statistics_reach_the_fp32_model()
    {
        using var rig = new Rig(seed: 5, trainItems: 48, batchSize: 16);
        var norm = rig.Model.Body.named_modules().Select(m => m.module).OfType<BatchNorm2d>().First();
        Assert.AreEqual(2, rig.Learner.RecomputeBatchNormStatistics(batches: 2));
        var state = rig.Model.state_dict();
        Assert.AreEqual(2L, state["body.bn1.num_batches_tracked"].item<long>(), "the counter restarted and counted two batches");
        Assert.AreEqual(0.1, norm.momentum!.Value, 1e-12, "momentum is restored");
        var working = rig.Step.WorkingCopy.state_dict();
        Assert.IsTrue(Same(state["body.layer3.1.bn2.running_var"], working["body.layer3.1.bn2.running_var"]));
        using var initialMean = zeros(64);
        Assert.IsFalse(Same(state["body.bn1.running_mean"], initialMean), "the statistics were measured");
    }
}
