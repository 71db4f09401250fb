using PetsML.Trainers.Modeling;
using PetsML.Trainers.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

[TestClass]
public sealed class FastaiAdamTests
{
    private static Parameter Param(params float[] values) => new(tensor(values), requires_grad: true);

    /// <summary>Gives <paramref name="p"/> the gradient <paramref name="g"/> through a real backward pass: d(Σ p·g)/dp = g.</summary>
    private static void SetGrad(Parameter p, float[] g)
    {
        using var gt = tensor(g);
        using var loss = p.mul(gt).sum();
        loss.backward();
    }

    [TestMethod]
    public void Two_steps_match_fastai_formula_and_norm_parameters_get_no_weight_decay()
    {
        float[] w0 = [0.5f, -1.0f, 2.0f], b0 = [1.0f, 0.25f];
        using var w = Param(w0);
        using var bnWeight = Param(b0);
        var group = new ParameterGroup("g", [("w", w), ("bn.weight", bnWeight)], new HashSet<string> { "bn.weight" });
        using var opt = new FastaiAdam([group], lr: 0.1, mom: 0.9, sqrMom: 0.99, eps: 1e-5, wd: 0.01);

        float[][] grads = [[0.3f, -0.2f, 1.0f], [-0.5f, 0.1f, 0.4f]];
        float[][] bnGrads = [[0.2f, -1.0f], [0.6f, 0.3f]];
        double[] moms = [0.9, 0.8]; // the second step uses a scheduled mom: bias correction with the current one
        var ew = w0.Select(x => (double)x).ToArray();
        var eb = b0.Select(x => (double)x).ToArray();
        var (mw, vw) = (new double[3], new double[3]);
        var (mb, vb) = (new double[2], new double[2]);

        for (int step = 1; step <= 2; step++)
        {
            opt.SetHyper("mom", [moms[step - 1]]);
            SetGrad(w, grads[step - 1]);
            SetGrad(bnWeight, bnGrads[step - 1]);
            opt.Step();
            opt.ZeroGrad();
            Expected(ew, mw, vw, grads[step - 1], step, moms[step - 1], doWd: true);
            Expected(eb, mb, vb, bnGrads[step - 1], step, moms[step - 1], doWd: false);
        }

        var actualW = w.data<float>().ToArray();
        var actualB = bnWeight.data<float>().ToArray();
        for (int i = 0; i < 3; i++) Assert.AreEqual(ew[i], actualW[i], 1e-5, $"w[{i}]");
        for (int i = 0; i < 2; i++) Assert.AreEqual(eb[i], actualB[i], 1e-5, $"bn.weight[{i}]");
        Assert.AreEqual(2, opt.StepCount(0, 0));
    }

    /// <summary>fastai's Adam step written out: wd, dampened moments, step, bias-corrected update.</summary>
    private static void Expected(double[] p, double[] m, double[] v, float[] g, int step, double mom, bool doWd)
    {
        const double lr = 0.1, sqrMom = 0.99, eps = 1e-5, wd = 0.01;
        for (int i = 0; i < p.Length; i++)
        {
            if (doWd) p[i] *= 1 - lr * wd;
            m[i] = mom * m[i] + (1 - mom) * g[i];
            v[i] = sqrMom * v[i] + (1 - sqrMom) * g[i] * g[i];
            double debias1 = 1 - Math.Pow(mom, step), debias2 = 1 - Math.Pow(sqrMom, step);
            p[i] -= lr / debias1 * m[i] / (Math.Sqrt(v[i] / debias2) + eps);
        }
    }

    [TestMethod]
    public void Parameters_without_gradient_are_skipped_and_clear_state_resets_steps()
    {
        using var a = Param(1f, 2f);
        using var frozen = Param(3f, 4f);
        var group = new ParameterGroup("g", [("a", a), ("frozen", frozen)], new HashSet<string>());
        using var opt = new FastaiAdam([group]);
        SetGrad(a, [1f, 1f]);
        opt.Step();
        CollectionAssert.AreEqual(new[] { 3f, 4f }, frozen.data<float>().ToArray(), "no gradient: no decay, no step");
        Assert.AreEqual(1, opt.StepCount(0, 0));
        Assert.AreEqual(0, opt.StepCount(0, 1));
        opt.ClearState();
        Assert.AreEqual(0, opt.StepCount(0, 0));
        CollectionAssert.AreEqual(new[] { 1e-3, }, opt.GetHyper("lr"), "hyper-parameters survive clear_state");
        Assert.ThrowsExactly<ArgumentException>(() => opt.SetHyper("beta", 0.5));
        Assert.ThrowsExactly<ArgumentException>(() => opt.SetHyper("lr", [1e-3, 1e-3]));
    }

    /// <summary>A checkpoint's optimizer state declaring 2^31 - 1 values of a hyper-parameter is refused before an array is sized by it.</summary>
    [TestMethod]
    public void An_optimizer_state_declaring_a_huge_hyper_parameter_count_is_refused_before_allocating()
    {
        using var a = Param(1f, 2f);
        using var opt = new FastaiAdam([new ParameterGroup("g", [("a", a)], new HashSet<string>())]);
        using var state = new MemoryStream();
        using (var w = new BinaryWriter(state, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write("petsml-fastai-adam-v1");
            w.Write(1);
            w.Write("lr");
            w.Write(int.MaxValue);
        }
        state.Position = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => opt.LoadState(state));
        Assert.IsLessThan(1L << 20, GC.GetAllocatedBytesForCurrentThread() - before, "no array of 2^31 doubles");
        StringAssert.Contains(e.Message, "hyper-parameter 'lr' (2147483647 groups) does not fit this optimizer (1 groups)");
    }
}
