using PetsML.Transforms.Imaging;
namespace PetsML;

/// <summary>How <see cref="ImageDecoder"/> decodes a file. Defaults are in <see cref="Defaults"/>.</summary>
public sealed class ImageDecodeOptions
{
    /// <summary>The default values, written once.</summary>
    public static class Defaults
    {
        /// <summary>
        /// 89,478,485 pixels: Pillow's <c>Image.MAX_IMAGE_PIXELS</c> (1024·1024·1024 / 4 / 3, about
        /// 0.25 GiB of 24-bit pixels). Pillow only warns above it and refuses above twice it; PetsML
        /// refuses above it, because a data set image that large is almost always a mistake or an attack.
        /// </summary>
        public const long MaxPixels = 89_478_485;

        /// <summary>True: PetsML turns images upright according to their EXIF orientation tag.</summary>
        public const bool ApplyExifOrientation = true;
    }

    /// <summary>
    /// The largest width·height accepted; positive. Larger images fail with <see cref="ImageDecodeFailure.TooLarge"/>
    /// before any pixel buffer is allocated. Default <see cref="Defaults.MaxPixels"/> (89,478,485, Pillow's limit).
    /// </summary>
    public long MaxPixels { get; set; } = Defaults.MaxPixels;

    /// <summary>
    /// Whether to rotate/flip the image as its EXIF orientation tag says (phone photos are often
    /// stored sideways with a tag). The default value is true (<see cref="Defaults.ApplyExifOrientation"/>).
    /// </summary>
    /// <remarks>
    /// Policy: fastai opens images with PIL, which does <b>not</b> apply EXIF orientation, so fastai
    /// trains on sideways pictures whenever a file carries a rotation tag. PetsML applies the tag by
    /// default because the upright picture is what the user sees and what a model should learn from.
    /// Set false to reproduce fastai's pixels exactly.
    /// </remarks>
    public bool ApplyExifOrientation { get; set; } = Defaults.ApplyExifOrientation;

    /// <summary>Checks every option and throws on the first invalid one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        if (MaxPixels <= 0) throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "ImageDecodeOptions.MaxPixels must be positive.");
    }

    /// <summary>A copy, so a component keeps the settings it was made with whatever the caller changes later.</summary>
    internal ImageDecodeOptions Clone() => (ImageDecodeOptions)MemberwiseClone();
}
