using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// fastai's <c>create_head(nf, n_out)</c> with its defaults (concat pooling, lin_ftrs [512], ps 0.5, first_bn,
/// no bn_final, no y_range), as a flat sequence whose children are named "0".."8" like fastai's nn.Sequential:
/// 0 AdaptiveConcatPool2d, 1 Flatten, 2 BatchNorm1d(2nf), 3 Dropout(0.25), 4 Linear(2nf, 512, no bias), 5 ReLU,
/// 6 BatchNorm1d(512), 7 Dropout(0.5), 8 Linear(512, nClasses, no bias).
/// </summary>
/// <remarks>
/// Initialisation as fastai's <c>apply_init(head, kaiming_normal_)</c>: both linears from N(0, 2/fan_in); the
/// BatchNorm layers keep fastai's <c>BatchNorm</c> init, weight 1 and bias 0.001. The draws come from the
/// generator passed in (first Linear "4", then Linear "8").
/// </remarks>
internal sealed class FastaiHead : nn.Module<Tensor, Tensor>
{
    /// <summary>Width of the hidden layer (fastai's lin_ftrs default).</summary>
    public const int HiddenFeatures = 512;

    /// <summary>Dropout before the hidden linear (ps/2 with fastai's ps = 0.5).</summary>
    public const double FirstDropout = 0.25;

    /// <summary>Dropout before the output linear (ps = 0.5).</summary>
    public const double LastDropout = 0.5;

    /// <summary>Initial bias of the head's BatchNorm layers (fastai's <c>BatchNorm</c> helper).</summary>
    public const double NormBiasInit = 1e-3;

    private readonly nn.Module<Tensor, Tensor>[] layers;

    /// <summary>Number of input channels the head expects (the body's output channels).</summary>
    public long InputChannels { get; }

    /// <summary>Number of classes (outputs).</summary>
    public long Classes { get; }

    /// <param name="nf">Channels of the body's feature map (512 for ResNet-18/34, 2048 for ResNet-50).</param>
    /// <param name="nClasses">Number of classes.</param>
    /// <param name="generator">Source of the linears' random initialisation.</param>
    public FastaiHead(long nf, long nClasses, Generator generator) : this(nf, nClasses, generator, dropoutSeeds: null)
    {
    }

    // dropoutSeeds: the dropout layers' seeds (a structural copy), or null to draw them from the generator.
    private FastaiHead(long nf, long nClasses, Generator generator, long[]? dropoutSeeds) : base(nameof(FastaiHead))
    {
        if (nf <= 0) throw new ArgumentOutOfRangeException(nameof(nf), nf, "The body must output at least one channel.");
        if (nClasses < 2) throw new ArgumentOutOfRangeException(nameof(nClasses), nClasses, "A classifier needs at least 2 classes.");
        ArgumentNullException.ThrowIfNull(generator);
        InputChannels = nf;
        Classes = nClasses;

        var pooled = 2 * nf;
        var bnFirst = nn.BatchNorm1d(pooled);
        var linHidden = nn.Linear(pooled, HiddenFeatures, hasBias: false);
        var bnHidden = nn.BatchNorm1d(HiddenFeatures);
        var linOut = nn.Linear(HiddenFeatures, nClasses, hasBias: false);
        WeightInit.ConstantNorm(bnFirst, weight: 1.0, bias: NormBiasInit);
        WeightInit.ConstantNorm(bnHidden, weight: 1.0, bias: NormBiasInit);
        WeightInit.KaimingNormal(linHidden.weight!, WeightInit.FanMode.FanIn, generator);
        WeightInit.KaimingNormal(linOut.weight!, WeightInit.FanMode.FanIn, generator);
        // The dropout masks get seeds from the same generator, after the weights, so the whole head follows the seed.
        if (dropoutSeeds is null)
        {
            using var seeds = torch.randint(0, int.MaxValue, [2], generator: generator, dtype: ScalarType.Int64);
            dropoutSeeds = seeds.data<long>().ToArray();
        }
        layers =
        [
            new AdaptiveConcatPool2d(),
            nn.Flatten(),
            bnFirst,
            new SeededDropout(FirstDropout, dropoutSeeds[0]),
            linHidden,
            nn.ReLU(inplace: true),
            bnHidden,
            new SeededDropout(LastDropout, dropoutSeeds[1]),
            linOut,
        ];
        // Registered by index, not by field name, so the state-dict keys are fastai's ("2.weight", "8.weight").
        for (var i = 0; i < layers.Length; i++)
            register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]);
    }

    /// <summary>
    /// A head of the same shape whose dropout layers have this head's seeds; its weights are placeholders for the
    /// caller to overwrite (see <see cref="ImageClassifier.CreateReplica"/>).
    /// </summary>
    internal FastaiHead CreateStructuralCopy()
    {
        using var placeholder = new Generator(0);
        var seeds = layers.OfType<SeededDropout>().Select(d => d.Seed).ToArray();
        return new FastaiHead(InputChannels, Classes, placeholder, seeds);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = x;
        foreach (var layer in layers) y = layer.call(y);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The logits, the pooled body features [N, 2nf] (the flatten's output) and what the output linear reads
    /// [N, <see cref="HiddenFeatures"/>] (the hidden BatchNorm's output: the penultimate features the out-of-distribution
    /// score measures; in eval mode the dropout before the output linear is the identity).
    /// </summary>
    public (Tensor Logits, Tensor Pooled, Tensor Penultimate) ForwardWithFeatures(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var pooled = layers[1].call(layers[0].call(x));
        var y = pooled;
        for (int i = 2; i < layers.Length - 1; i++) y = layers[i].call(y);
        var logits = layers[^1].call(y);
        return (logits.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }
}
