using SkiaSharp;

namespace PetsML;

/// <summary>
/// Where the network looked for one image: a Grad-CAM heat map over the image as the network saw it (the validation
/// view: presized at the centre, cropped and resized to the network's input), from
/// <see cref="ImageClassifierTransformer.GradCam(Microsoft.ML.IDataView, int?)"/>. docs/explanations.md says how to read it.
/// </summary>
public sealed class GradCamMap
{
    internal GradCamMap(int width, int height, float[] heat, byte[] pixels, int classIndex, string className, float probability)
    {
        Width = width;
        Height = height;
        Heat = heat;
        Pixels = pixels;
        ClassIndex = classIndex;
        ClassName = className;
        Probability = probability;
    }

    /// <summary>Columns of the map and of the view: the network's input size.</summary>
    public int Width { get; }

    /// <summary>Rows of the map and of the view.</summary>
    public int Height { get; }

    /// <summary>Height×Width values in [0, 1], row-major: 1 where the evidence for the class is strongest, 0 where there is none.</summary>
    public float[] Heat { get; }

    /// <summary>The view the network saw, Height×Width×3 RGB bytes, row-major (the normalisation undone).</summary>
    public byte[] Pixels { get; }

    /// <summary>The class explained (an index into ClassNames): the predicted class unless another was asked for.</summary>
    public int ClassIndex { get; }

    /// <summary>Its name.</summary>
    public string ClassName { get; }

    /// <summary>The probability the network gave that class for this image.</summary>
    public float Probability { get; }

    /// <summary>The map over the view as a PNG: a blue (cold) to red (hot) colour scale blended into the picture.</summary>
    /// <param name="opacity">Weight of the colour scale, in [0, 1]. Default 0.5.</param>
    public byte[] ToPng(float opacity = 0.5f)
    {
        var rgba = OverlayRgba(opacity);
        var info = new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var image = SKImage.FromPixelCopy(info, rgba, Width * 4);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The blended picture as Height×Width×4 RGBA bytes (opaque).</summary>
    internal byte[] OverlayRgba(float opacity = 0.5f)
    {
        if (!(opacity >= 0 && opacity <= 1)) throw new ArgumentOutOfRangeException(nameof(opacity), opacity, "opacity must lie in [0, 1].");
        var rgba = new byte[Width * Height * 4];
        for (int i = 0; i < Width * Height; i++)
        {
            var (r, g, b) = Jet(Heat[i]);
            rgba[4 * i] = Blend(Pixels[3 * i], r, opacity);
            rgba[4 * i + 1] = Blend(Pixels[3 * i + 1], g, opacity);
            rgba[4 * i + 2] = Blend(Pixels[3 * i + 2], b, opacity);
            rgba[4 * i + 3] = 255;
        }
        return rgba;
    }

    static byte Blend(byte photo, float colour, float opacity) => (byte)Math.Clamp(Math.Round((1 - opacity) * photo + opacity * 255 * colour), 0, 255);

    /// <summary>The "jet" colour scale most Grad-CAM pictures use: dark blue at 0, green in the middle, dark red at 1.</summary>
    static (float R, float G, float B) Jet(float v)
    {
        v = Math.Clamp(v, 0, 1);
        static float Ramp(float x) => Math.Clamp(1.5f - Math.Abs(x), 0, 1);
        return (Ramp(4 * v - 3), Ramp(4 * v - 2), Ramp(4 * v - 1));
    }
}
