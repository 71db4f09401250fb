using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// fastai's AdaptiveConcatPool2d with output size 1: [N, C, H, W] → [N, 2C, 1, 1], the adaptive max-pool in
/// channels 0..C-1 and the adaptive average-pool in C..2C-1. Max comes first in fastai's code, whatever its
/// docstring says, and the head's first BatchNorm/Linear weights depend on that order.
/// </summary>
internal sealed class AdaptiveConcatPool2d : nn.Module<Tensor, Tensor>
{
    public AdaptiveConcatPool2d() : base(nameof(AdaptiveConcatPool2d))
    {
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var max = nn.functional.adaptive_max_pool2d(x, [1, 1]);
        var avg = nn.functional.adaptive_avg_pool2d(x, [1, 1]);
        return torch.cat([max, avg], dim: 1).MoveToOuterDisposeScope();
    }
}
