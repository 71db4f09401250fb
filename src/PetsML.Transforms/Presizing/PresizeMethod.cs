namespace PetsML;

/// <summary>How an image is fitted to the target size; fastai's <c>ResizeMethod</c>.</summary>
public enum PresizeMethod
{
    /// <summary>
    /// Cut the largest box of the target's aspect ratio that fits inside the image (random position on
    /// training, centred on validation), then resize it. fastai's default.
    /// </summary>
    Crop,

    /// <summary>Resize the whole image to the target size, ignoring its aspect ratio.</summary>
    Squish,

    /// <summary>
    /// Take the smallest box of the target's aspect ratio that contains the image, fill the part outside
    /// the image per <see cref="PadMode"/>, then resize it.
    /// </summary>
    Pad,
}
