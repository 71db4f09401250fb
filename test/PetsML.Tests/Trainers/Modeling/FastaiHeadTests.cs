using PetsML.Trainers.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

[TestClass]
public sealed class FastaiHeadTests
{
    [TestMethod]
    public void Layers_and_state_dict_match_fastais_create_head()
    {
        using var generator = new Generator(5);
        using var head = new FastaiHead(512, 37, generator);

        var children = head.named_children().ToList();
        CollectionAssert.AreEqual(Enumerable.Range(0, 9).Select(i => i.ToString()).ToList(), children.Select(c => c.name).ToList());
        var types = new[]
        {
            typeof(AdaptiveConcatPool2d), typeof(Flatten), typeof(BatchNorm1d), typeof(SeededDropout), typeof(Linear),
            typeof(ReLU), typeof(BatchNorm1d), typeof(SeededDropout), typeof(Linear),
        };
        for (var i = 0; i < types.Length; i++) Assert.IsInstanceOfType(children[i].module, types[i], $"child {i}");
        Assert.AreEqual(0.25, ((SeededDropout)children[3].module).P);
        Assert.AreEqual(0.5, ((SeededDropout)children[7].module).P);

        var shapes = head.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        CollectionAssert.AreEquivalent(
            new[]
            {
                "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked", "4.weight",
                "6.weight", "6.bias", "6.running_mean", "6.running_var", "6.num_batches_tracked", "8.weight",
            },
            shapes.Keys.ToList());
        CollectionAssert.AreEqual(new long[] { 1024 }, shapes["2.weight"]);
        CollectionAssert.AreEqual(new long[] { 512, 1024 }, shapes["4.weight"]);
        CollectionAssert.AreEqual(new long[] { 512 }, shapes["6.bias"]);
        CollectionAssert.AreEqual(new long[] { 37, 512 }, shapes["8.weight"]);
        Assert.IsNull(((Linear)children[4].module).bias, "fastai's linears after a BatchNorm have no bias");
        Assert.IsNull(((Linear)children[8].module).bias);
    }

    [TestMethod]
    public void Batchnorm_starts_at_weight_1_bias_0001_and_linears_at_kaiming_fan_in()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(6);
        using var head = new FastaiHead(2048, 10, generator);
        var sd = head.state_dict();
        foreach (var bn in new[] { "2", "6" })
        {
            Assert.IsTrue(sd[$"{bn}.weight"].eq(1f).all().item<bool>());
            Assert.IsTrue(sd[$"{bn}.bias"].eq(0.001f).all().item<bool>());
        }
        // kaiming_normal_ (fan_in, a = 0): std = sqrt(2 / fan_in).
        var hiddenStd = sd["4.weight"].std().item<float>();
        Assert.AreEqual(Math.Sqrt(2.0 / 4096), hiddenStd, Math.Sqrt(2.0 / 4096) * 0.02);
        var outStd = sd["8.weight"].std().item<float>();
        Assert.AreEqual(Math.Sqrt(2.0 / 512), outStd, Math.Sqrt(2.0 / 512) * 0.1);
    }

    [TestMethod]
    public void Concat_pool_puts_max_before_average()
    {
        using var pool = new AdaptiveConcatPool2d();
        using var x = torch.tensor(new float[] { 1, 2, 3, 10, -1, -2, -3, -4 }, [1, 2, 2, 2]);
        using var y = pool.call(x);
        CollectionAssert.AreEqual(new long[] { 1, 4, 1, 1 }, y.shape);
        CollectionAssert.AreEqual(new[] { 10f, -1f, 4f, -2.5f }, y.data<float>().ToArray());
    }

    [TestMethod]
    public void Forward_gives_one_logit_per_class_and_invalid_sizes_are_refused()
    {
        using var generator = new Generator(7);
        using var head = new FastaiHead(16, 3, generator);
        head.eval();
        using var scope = torch.NewDisposeScope();
        var logits = head.call(torch.randn([4, 16, 5, 5], generator: generator));
        CollectionAssert.AreEqual(new long[] { 4, 3 }, logits.shape);

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new FastaiHead(16, 1, generator));
        Assert.AreEqual("nClasses", e.ParamName);
    }

    [TestMethod]
    public void The_head_dropout_follows_the_whole_model_into_training_and_out_of_it()
    {
        // The learner switches the whole classifier with train()/eval(); the head's dropout must follow (a dropout left
        // off in training would fit the training photos better and generalise worse, the many-class symptom).
        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18, nClasses: 5, seed: 3, pretrained: false);
        using var generator = new Generator(11);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([4, 3, 64, 64], generator: generator);
        model.train();
        Assert.IsFalse(model.call(x).allclose(model.call(x)), "training: two passes draw different dropout masks");
        model.eval();
        Assert.IsTrue(model.call(x).allclose(model.call(x), rtol: 0, atol: 0), "evaluation: no dropout");
    }
}
