using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// torchvision's BasicBlock (ResNet-18/34): conv3x3 → BN → ReLU → conv3x3 → BN, plus the shortcut, then ReLU.
/// The stride sits on the first 3x3 conv. Field names are PyTorch's, so the state-dict keys are
/// <c>conv1.weight</c>, <c>bn1.running_mean</c>, <c>downsample.0.weight</c>...
/// </summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels per input "width" (1: a BasicBlock keeps its width).</summary>
    public const int Expansion = 1;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;

    /// <param name="inChannels">Channels entering the block.</param>
    /// <param name="width">Channels of both 3x3 convs (and of the output).</param>
    /// <param name="stride">Stride of the first conv; 2 at the first block of layers 2-4.</param>
    /// <param name="downsample">1x1 conv + BN shortcut when shape changes; null for identity.</param>
    public BasicBlock(long inChannels, long width, long stride, Sequential? downsample) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inChannels, width, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(width);
        relu = nn.ReLU(inplace: true);
        conv2 = nn.Conv2d(width, width, 3, stride: 1, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(width);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var output = relu.call(bn1.call(conv1.call(x)));
        output = bn2.call(conv2.call(output));
        var identity = downsample is null ? x : downsample.call(x);
        output = relu.call(output.add_(identity));
        return output.MoveToOuterDisposeScope();
    }
}
