using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// A ResNet without its pooling and classifier: conv1, bn1, relu, maxpool, layer1..layer4, which is what fastai
/// keeps of a torchvision ResNet (<c>cut = -2</c>). Its state-dict names are torchvision's
/// (<c>layer2.0.downsample.1.running_mean</c>), so torchvision checkpoints load once <c>fc.*</c> is skipped.
/// Output: [N, <see cref="OutputChannels"/>, H/32, W/32].
/// </summary>
internal sealed class ResNetBody : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    /// <summary>The architecture this body was built for.</summary>
    public ResNetArchitecture Architecture { get; }

    /// <summary>Channels of the output feature map: 512 for BasicBlock bodies, 2048 for ResNet-50.</summary>
    public long OutputChannels { get; }

    /// <summary>The channels the body of <paramref name="architecture"/> outputs, without building it.</summary>
    public static long OutputChannelsOf(ResNetArchitecture architecture) =>
        512L * (Layout(architecture).Bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion);

    private ResNetBody(ResNetArchitecture architecture) : base(nameof(ResNetBody))
    {
        Architecture = architecture;
        var (bottleneck, blocks) = Layout(architecture);
        var expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;

        conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64);
        relu = nn.ReLU(inplace: true);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);

        long inChannels = 64;
        layer1 = MakeLayer(bottleneck, ref inChannels, 64, blocks[0], stride: 1);
        layer2 = MakeLayer(bottleneck, ref inChannels, 128, blocks[1], stride: 2);
        layer3 = MakeLayer(bottleneck, ref inChannels, 256, blocks[2], stride: 2);
        layer4 = MakeLayer(bottleneck, ref inChannels, 512, blocks[3], stride: 2);
        OutputChannels = 512L * expansion;
        RegisterComponents();
    }

    /// <summary>
    /// Builds a body with torchvision's random initialisation: kaiming normal (fan_out, ReLU) for every conv,
    /// BN weight 1 and bias 0. Every draw comes from <paramref name="generator"/>, in module order.
    /// </summary>
    public static ResNetBody Create(ResNetArchitecture architecture, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var body = new ResNetBody(architecture);
        body.InitializeWeights(generator);
        return body;
    }

    /// <summary>
    /// Builds a body whose weights are about to be overwritten by a checkpoint. Its values are TorchSharp's
    /// construction defaults and must not be used as an initialisation.
    /// </summary>
    internal static ResNetBody CreateForLoading(ResNetArchitecture architecture) => new(architecture);

    /// <summary>Blocks per stage and block type, as in torchvision (and CNTK for the packaged model).</summary>
    private static (bool Bottleneck, int[] Blocks) Layout(ResNetArchitecture architecture) => architecture switch
    {
        ResNetArchitecture.ResNet18Packaged => (false, [2, 2, 2, 3]),
        ResNetArchitecture.ResNet18 => (false, [2, 2, 2, 2]),
        ResNetArchitecture.ResNet34 => (false, [3, 4, 6, 3]),
        ResNetArchitecture.ResNet50 => (true, [3, 4, 6, 3]),
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "Unknown ResNet architecture."),
    };

    private static Sequential MakeLayer(bool bottleneck, ref long inChannels, long width, int blocks, long stride)
    {
        var expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        var outChannels = width * expansion;
        var children = new List<(string, nn.Module<Tensor, Tensor>)>(blocks);
        for (var i = 0; i < blocks; i++)
        {
            var blockStride = i == 0 ? stride : 1;
            Sequential? downsample = null;
            if (i == 0 && (blockStride != 1 || inChannels != outChannels))
            {
                downsample = nn.Sequential(
                    ("0", nn.Conv2d(inChannels, outChannels, 1, stride: blockStride, bias: false)),
                    ("1", nn.BatchNorm2d(outChannels)));
            }
            nn.Module<Tensor, Tensor> block = bottleneck
                ? new Bottleneck(inChannels, width, blockStride, downsample)
                : new BasicBlock(inChannels, width, blockStride, downsample);
            children.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), block));
            inChannels = outChannels;
        }
        return nn.Sequential(children.ToArray());
    }

    private void InitializeWeights(Generator generator)
    {
        foreach (var (_, module) in named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    WeightInit.KaimingNormal(conv.weight!, WeightInit.FanMode.FanOut, generator);
                    break;
                case BatchNorm norm:
                    WeightInit.ConstantNorm(norm, weight: 1.0, bias: 0.0);
                    break;
            }
        }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var y = maxpool.call(relu.call(bn1.call(conv1.call(x))));
        y = layer4.call(layer3.call(layer2.call(layer1.call(y))));
        return y.MoveToOuterDisposeScope();
    }
}
