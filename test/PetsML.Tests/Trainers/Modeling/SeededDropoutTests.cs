using PetsML.Trainers.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

/// <summary>
/// The head's dropout must behave as nn.Dropout does (one Bernoulli draw per element, survivors scaled by 1/(1−p),
/// a fresh mask every call) and take its masks from its own seed only (issue 28 asked whether TorchSharp's
/// <c>rand(shape, generator:)</c> honours the generator).
/// </summary>
[TestClass]
public sealed class SeededDropoutTests
{
    [TestMethod]
    public void Masks_are_per_element_scaled_by_one_over_keep_and_fresh_every_call()
    {
        using var scope = torch.NewDisposeScope();
        using var dropout = new SeededDropout(0.5, seed: 11);
        dropout.train();
        var x = ones(64, 512);

        var first = dropout.call(x);
        var second = dropout.call(x);

        // Survivors are scaled to 2 = 1/(1 − 0.5); nothing else but 0 appears.
        Assert.IsTrue(first.eq(0f).logical_or(first.eq(2f)).all().item<bool>());
        double zeroed = first.eq(0f).to(float32).mean().item<float>();
        Assert.AreEqual(0.5, zeroed, 0.01, "fraction zeroed");
        // Per element, not per row or per feature: every row and every column holds both zeros and survivors.
        var dropped = first.eq(0f);
        Assert.IsTrue(dropped.any(1).all().item<bool>() && dropped.logical_not().any(1).all().item<bool>(), "rows");
        Assert.IsTrue(dropped.any(0).all().item<bool>() && dropped.logical_not().any(0).all().item<bool>(), "columns");
        // A fresh mask each batch: two independent masks disagree on about 2·p·(1 − p) = half the elements.
        double disagree = first.ne(second).to(float32).mean().item<float>();
        Assert.AreEqual(0.5, disagree, 0.02, "two consecutive masks should be independent");
    }

    [TestMethod]
    public void Masks_come_from_the_seed_only_not_from_the_global_generator()
    {
        using var scope = torch.NewDisposeScope();
        var savedGlobal = torch.random.get_rng_state();
        try
        {
            var x = ones(32, 1024);
            using var a = new SeededDropout(0.25, seed: 7);
            using var b = new SeededDropout(0.25, seed: 7);
            using var other = new SeededDropout(0.25, seed: 8);
            a.train();
            b.train();
            other.train();

            torch.manual_seed(1);
            var fromA = a.call(x);
            torch.manual_seed(2);
            var fromB = b.call(x);
            Assert.IsTrue(Same(fromA, fromB), "the same seed must give the same mask whatever the global generator holds");
            Assert.IsFalse(Same(other.call(x), fromA), "another seed must give another mask");

            // The mask is exactly the one a generator with that seed draws: keep where U ≥ p.
            using var generator = new Generator(7);
            var expectedKeep = rand([32, 1024], generator: generator).ge(0.25);
            Assert.IsTrue(Same(fromA.ne(0f), expectedKeep));
        }
        finally
        {
            torch.random.set_rng_state(savedGlobal);
        }
    }

    [TestMethod]
    public void Eval_mode_is_the_identity()
    {
        using var scope = torch.NewDisposeScope();
        using var dropout = new SeededDropout(0.5, seed: 3);
        dropout.eval();
        using var generator = new Generator(4);
        var x = randn([8, 16], generator: generator);
        Assert.IsTrue(Same(dropout.call(x), x));
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
