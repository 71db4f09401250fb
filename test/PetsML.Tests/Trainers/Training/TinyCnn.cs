using PetsML.Trainers.Modeling;
using PetsML.Transforms.Batching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Training;

/// <summary>
/// A small seeded CNN with BatchNorm and three fastai-style parameter groups (stem, body, head), plus a generated
/// 3-class image task that a CNN can separate: horizontal stripes, vertical stripes, or a checkerboard, under noise.
/// </summary>
internal sealed class TinyCnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Linear fc;

    public const int Classes = 3;

    public TinyCnn(int seed) : base(nameof(TinyCnn))
    {
        conv1 = nn.Conv2d(3, 8, 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(8);
        conv2 = nn.Conv2d(8, 16, 3, stride: 2, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(16);
        fc = nn.Linear(16, Classes);
        RegisterComponents();
        // TorchSharp's default init draws from the global generator; redraw every weight from our own seed.
        using var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.StartsWith("bn", StringComparison.Ordinal))
                continue; // BatchNorm keeps weight 1, bias 0
            long fanIn = p.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            using var init = p.dim() == 1 ? zeros(p.shape) : randn(p.shape, generator: g).mul(Math.Sqrt(2.0 / fanIn));
            p.copy_(init);
        }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(bn1.forward(conv1.forward(x)));
        h = nn.functional.relu(bn2.forward(conv2.forward(h)));
        h = h.mean([2L, 3L]);
        return scope.MoveToOuter(fc.forward(h));
    }

    /// <summary>Groups: 0 = conv1, bn1; 1 = conv2, bn2; 2 = fc (the head). BN parameters are the norm parameters.</summary>
    public IReadOnlyList<ParameterGroup> Groups()
    {
        var all = named_parameters().ToList();
        ParameterGroup Make(string groupName, params string[] prefixes)
        {
            var ps = all.Where(p => prefixes.Any(x => p.name.StartsWith(x + ".", StringComparison.Ordinal))).Select(p => (p.name, p.parameter)).ToList();
            var norm = ps.Where(p => p.name.StartsWith("bn", StringComparison.Ordinal)).Select(p => p.name).ToHashSet();
            return new ParameterGroup(groupName, ps, norm);
        }
        return [Make("stem", "conv1", "bn1"), Make("body", "conv2", "bn2"), Make("head", "fc")];
    }

    /// <summary>Copies of every state-dict tensor (weights and BN buffers), outside any dispose scope: the caller disposes them.</summary>
    public Dictionary<string, Tensor> Snapshot() =>
        state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());

    /// <summary>
    /// n images [n, 3, size, size] and labels: class 0 horizontal stripes, 1 vertical stripes, 2 checkerboard,
    /// each with a random phase and Gaussian noise (std 0.6), all drawn from <paramref name="seed"/>.
    /// </summary>
    public static (Tensor Images, Tensor Labels) MakeData(int n, int seed, int size = 12)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var labels = randint(0, Classes, [n], dtype: ScalarType.Int64, generator: g);
        var phase = randint(0, 2, [n, 1, 1], dtype: ScalarType.Int64, generator: g);
        var rows = arange(size, dtype: ScalarType.Int64).reshape(1, size, 1);
        var cols = arange(size, dtype: ScalarType.Int64).reshape(1, 1, size);
        var horizontal = (rows + phase).remainder(2);
        var vertical = (cols + phase).remainder(2);
        var checker = (rows + cols + phase).remainder(2);
        var l = labels.reshape(n, 1, 1);
        var pattern = where(l.eq(0), horizontal, where(l.eq(1), vertical, checker)).to(ScalarType.Float32).mul(2).sub(1);
        var images = pattern.unsqueeze(1).expand(n, 3, size, size).add(randn([n, 3, size, size], generator: g).mul(0.6));
        return scope.MoveToOuter(images.contiguous(), labels);
    }

    /// <summary>Training (shuffled, drop_last) and validation sequences over generated data. The caller disposes the tensors.</summary>
    public static (TensorBatchSequence Train, TensorBatchSequence Valid, Tensor[] Owned) MakeSequences(
        int trainItems = 240, int validItems = 90, int batchSize = 16, int seed = 7, int size = 12)
    {
        var (xt, yt) = MakeData(trainItems, seed, size);
        var (xv, yv) = MakeData(validItems, seed + 1000, size);
        return (new TensorBatchSequence(xt, yt, batchSize, shuffle: true, dropLast: true, seed: seed),
                new TensorBatchSequence(xv, yv, batchSize),
                [xt, yt, xv, yv]);
    }
}
