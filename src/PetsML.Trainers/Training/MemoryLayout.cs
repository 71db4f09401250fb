using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>Memory layouts TorchSharp 0.107 has no API for (no <c>memory_format</c> on <c>contiguous</c> or <c>to</c>).</summary>
internal static class MemoryLayout
{
    /// <summary>
    /// The same logical N×C×H×W tensor stored NHWC-contiguous (PyTorch's channels_last): oneDNN convolutions pick their
    /// channels-last kernels from the input's strides and pass the layout on, so the weights need no conversion.
    /// Returns a new tensor; <paramref name="x"/> must be 4-D.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4)
            throw new ArgumentException($"channels_last needs a 4-D N×C×H×W tensor; got [{string.Join(", ", x.shape)}].", nameof(x));
        using var nhwc = x.permute(0, 2, 3, 1);
        using var contiguous = nhwc.contiguous();
        return contiguous.permute(0, 3, 1, 2);
    }
}
