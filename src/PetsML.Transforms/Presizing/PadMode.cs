namespace PetsML;

/// <summary>
/// How pixels outside the image are filled: by <see cref="PresizeMethod.Pad"/> when presizing, and by the
/// augmentation's resampler (<c>grid_sample</c> padding). fastai's <c>PadMode</c>.
/// </summary>
public enum PadMode
{
    /// <summary>Black (torchvision pad mode "constant" with fill 0).</summary>
    Zeros,

    /// <summary>Repeat the edge pixel (torchvision "edge").</summary>
    Border,

    /// <summary>Mirror the image without repeating the edge pixel (torchvision/numpy "reflect"). fastai's default.</summary>
    Reflection,
}
