using static TorchSharp.torch;

namespace PetsML.Transforms.Augmentation;

/// <summary>
/// How the resampler fills output pixels whose source coordinates fall outside the image
/// (fastai's <c>PadMode</c>, passed to <c>grid_sample</c> as <c>padding_mode</c>).
/// </summary>
public enum PadMode
{
    /// <summary>Outside pixels are black (0).</summary>
    Zeros,

    /// <summary>Outside pixels repeat the nearest edge pixel.</summary>
    Border,

    /// <summary>Outside pixels mirror the image at its edges (fastai's default).</summary>
    Reflection,
}

internal static class PadModeExtensions
{
    internal static GridSamplePaddingMode ToGridSample(this PadMode mode) => mode switch
    {
        PadMode.Zeros => GridSamplePaddingMode.Zeros,
        PadMode.Border => GridSamplePaddingMode.Border,
        PadMode.Reflection => GridSamplePaddingMode.Reflection,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown pad mode."),
    };
}
