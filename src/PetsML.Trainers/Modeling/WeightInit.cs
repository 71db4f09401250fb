using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// He (kaiming) normal initialisation drawn from a caller's generator. In TorchSharp 0.107
/// <c>nn.init.kaiming_normal_</c> takes no generator, and <c>nn.init.normal_</c> accepts one but ignores it
/// (draws from the global generator; caught by the same-seed test). So the standard deviation is computed here
/// and the draw goes through <c>Tensor.normal_</c>, which passes the generator to libtorch.
/// </summary>
internal static class WeightInit
{
    /// <summary>Which side of a weight the variance is preserved for.</summary>
    internal enum FanMode { FanIn, FanOut }

    /// <summary>
    /// Fills <paramref name="weight"/> from N(0, gain²/fan) with gain √2 (ReLU, a = 0), as PyTorch's
    /// kaiming_normal_. For a [out, in, kh, kw] or [out, in] weight: fan_in = in·kh·kw, fan_out = out·kh·kw.
    /// </summary>
    internal static void KaimingNormal(Tensor weight, FanMode mode, Generator generator)
    {
        if (weight.dim() < 2)
            throw new ArgumentException($"kaiming init needs a weight with at least 2 dimensions, got {weight.dim()}.", nameof(weight));
        long receptive = 1;
        for (var d = 2; d < weight.dim(); d++) receptive *= weight.shape[d];
        var fan = (mode == FanMode.FanIn ? weight.shape[1] : weight.shape[0]) * receptive;
        var std = Math.Sqrt(2.0) / Math.Sqrt(fan);
        using var noGrad = torch.no_grad();
        weight.normal_(0.0, std, generator);
    }

    /// <summary>Sets a norm layer's weight and bias to constants (weight 1; bias 0 for torchvision, 0.001 for fastai's heads).</summary>
    internal static void ConstantNorm(TorchSharp.Modules.BatchNorm norm, double weight, double bias)
    {
        using var noGrad = torch.no_grad();
        nn.init.constant_(norm.weight!, weight);
        nn.init.constant_(norm.bias!, bias);
    }
}
