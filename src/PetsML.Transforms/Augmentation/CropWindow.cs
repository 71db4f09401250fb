namespace PetsML.Transforms.Augmentation;

/// <summary>
/// A rectangle of the source image, in pixels: rows [Top, Top+Height) and columns [Left, Left+Width).
/// One window is shared by every image of a batch (fastai's <c>RandomResizedCropGPU</c>).
/// </summary>
internal readonly record struct CropWindow(int Top, int Left, int Height, int Width)
{
    /// <summary>The whole image.</summary>
    public static CropWindow Full(int height, int width) => new(0, 0, height, width);

    /// <summary>
    /// The largest centred square, fastai's validation window with ratio (1, 1): the whole image when it is
    /// square, otherwise min(h, w) on each side, top-left rounded down.
    /// </summary>
    public static CropWindow CenteredSquare(int height, int width)
    {
        int side = Math.Min(height, width);
        return new((height - side) / 2, (width - side) / 2, side, side);
    }

    /// <summary>Whether the window is non-empty and lies inside an image of the given size.</summary>
    public bool FitsIn(int height, int width) =>
        Height >= 1 && Width >= 1 && Top >= 0 && Left >= 0 && Top + Height <= height && Left + Width <= width;
}
