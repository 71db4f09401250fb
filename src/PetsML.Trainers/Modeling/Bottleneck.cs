using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// torchvision's Bottleneck (ResNet-50, "v1.5"): 1x1 → BN → ReLU → 3x3 (stride here) → BN → ReLU → 1x1 (×4
/// channels) → BN, plus the shortcut, then ReLU. Field names are PyTorch's (<c>conv3</c>, <c>bn3</c>...).
/// </summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels per unit of width (the last 1x1 conv widens by 4).</summary>
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly ReLU relu;
    private readonly Sequential? downsample;

    /// <param name="inChannels">Channels entering the block.</param>
    /// <param name="width">Channels of the inner convs; the block outputs width·4.</param>
    /// <param name="stride">Stride of the 3x3 conv; 2 at the first block of layers 2-4.</param>
    /// <param name="downsample">1x1 conv + BN shortcut when shape changes; null for identity.</param>
    public Bottleneck(long inChannels, long width, long stride, Sequential? downsample) : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
        bn1 = nn.BatchNorm2d(width);
        conv2 = nn.Conv2d(width, width, 3, stride: stride, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(width);
        conv3 = nn.Conv2d(width, width * Expansion, 1, bias: false);
        bn3 = nn.BatchNorm2d(width * Expansion);
        relu = nn.ReLU(inplace: true);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var output = relu.call(bn1.call(conv1.call(x)));
        output = relu.call(bn2.call(conv2.call(output)));
        output = bn3.call(conv3.call(output));
        var identity = downsample is null ? x : downsample.call(x);
        output = relu.call(output.add_(identity));
        return output.MoveToOuterDisposeScope();
    }
}
