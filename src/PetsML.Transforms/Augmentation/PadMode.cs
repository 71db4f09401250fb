using PetsML.Transforms.Presizing;
using static TorchSharp.torch;

namespace PetsML.Transforms.Augmentation;

/// <summary>
/// The augmentation fills samples outside the image with the same <see cref="PadMode"/> presizing uses
/// (fastai's one <c>PadMode</c>), passed to <c>grid_sample</c> as its padding mode.
/// </summary>
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
