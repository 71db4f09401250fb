// ImageDecoder: the only file in PetsML that decodes images with SkiaSharp.
//
// Why SkiaSharp: ML.NET's MLImage already runs on it, so it is in every PetsML process anyway, and its
// native build (libjpeg-turbo, libpng, libwebp, wuffs GIF) decodes every format of the Oxford-IIIT Pet
// data set. Checked against SkiaSharp 3.119.0 (SkiaSharp.NativeAssets.Linux.NoDependencies 3.119.0):
//  - SKCodec reads the header (size, EXIF origin) without decoding, so the pixel limit is checked
//    before any pixel buffer exists;
//  - decoding into Rgba8888/Unpremul with no destination colour space performs no colour management,
//    like PIL's convert('RGB') (ICC profiles are ignored by both);
//  - grayscale, palette, 16-bit PNG, and Adobe (inverted) CMYK JPEGs all come out as RGBA;
//  - a truncated file returns SKCodecResult.IncompleteInput with the missing rows filled in, which is
//    treated here as an error (PIL raises "image file is truncated" by default);
//  - SKCodec does not apply the EXIF origin; it only reports it (EncodedOrigin), and we apply it.
// Everything Skia-specific stays in this file: callers see RgbImage and ImageDecodeException only.

using System.Buffers;
using Microsoft.ML.Data;
using SkiaSharp;

namespace PetsML.Transforms.Imaging;

/// <summary>
/// Decodes JPEG, PNG, GIF (first frame), BMP and WebP files into 8-bit <see cref="RgbImage"/>s,
/// choosing the decoder by the file's content, never by its extension.
/// </summary>
/// <remarks>
/// Conversion to RGB follows PIL's <c>convert('RGB')</c>, which fastai applies to every image:
/// grayscale becomes R = G = B, palettes are expanded, alpha is dropped (not composited onto a
/// background), CMYK is converted with the naive (1 − C)(1 − K) formula. Differences from fastai:
/// EXIF orientation is applied by default (<see cref="ImageDecodeOptions.ApplyExifOrientation"/>),
/// and fully transparent GIF pixels come out black where PIL shows the palette colour behind them.
/// JPEG pixels matched Pillow 9.4 (Debian 12's libjpeg-turbo) exactly on 4:2:0 test photos; a
/// libjpeg build with a different IDCT or chroma upsampling could differ by a unit or two.
/// </remarks>
internal static class ImageDecoder
{
    /// <summary>Decodes an encoded image held in memory.</summary>
    /// <param name="bytes">The whole encoded file.</param>
    /// <param name="sourceName">A file name or path for error messages.</param>
    /// <param name="options">Limits and orientation policy; null means the defaults.</param>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, corrupt, too large or unreadable.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, string sourceName, ImageDecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        options ??= new ImageDecodeOptions();

        if (bytes.IsEmpty)
        {
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.Empty, "zero-byte file");
        }

        ImageFormat format = ImageSignature.Detect(bytes);
        if (format == ImageFormat.Unknown)
        {
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.NotAnImage,
                $"not an image (no {ImageSignature.KnownFormats} signature)");
        }

        string formatName = ImageSignature.Name(format);
        try
        {
            return DecodeKnownFormat(bytes, sourceName, formatName, options);
        }
        catch (ImageDecodeException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever SkiaSharp throws (it rarely does) becomes one plain message; no native detail leaks.
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.Unreadable,
                $"the {formatName} decoder failed ({e.GetType().Name})", e);
        }
    }

    /// <summary>Reads and decodes an image file. Error messages name <paramref name="path"/> as given.</summary>
    /// <exception cref="ImageDecodeException">
    /// The file cannot be read (<see cref="ImageDecodeFailure.Unreadable"/>, the I/O exception is the inner
    /// exception), or decoding fails as in <see cref="Decode"/>.
    /// </exception>
    public static RgbImage DecodeFile(string path, ImageDecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ImageDecodeOptions();
        byte[] bytes;
        try
        {
            // The file is read whole, so its size is bounded first: no encoding of an image within the pixel limit
            // needs more than 8 bytes a pixel (16-bit RGBA, stored uncompressed) plus room for metadata.
            long length = new FileInfo(path).Length, limit = MaxFileBytes(options);
            if (length > limit)
            {
                throw new ImageDecodeException(path, ImageDecodeFailure.TooLarge,
                    $"{length} bytes exceeds the limit of {limit} for images of at most {options.MaxPixels} pixels (ImageDecodeOptions.MaxPixels)");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ImageDecodeException(path, ImageDecodeFailure.Unreadable, $"cannot read the file ({e.Message})", e);
        }

        return Decode(bytes, path, options);
    }

    /// <summary>
    /// Why the file at <paramref name="path"/> cannot be decoded within <paramref name="options"/>' pixel limit, from the
    /// width and height its header declares (JPEG SOF, PNG IHDR, GIF, BMP, WebP: SkiaSharp's codec reads the header
    /// without decoding or reading the rest of the file); null when it fits, or when the header cannot be read (the
    /// decoder then names that problem).
    /// </summary>
    internal static string? HeaderSizeProblem(string path, ImageDecodeOptions options)
    {
        using SKCodec? codec = SKCodec.Create(path);
        if (codec is null) return null;
        long pixels = (long)codec.Info.Width * codec.Info.Height;
        return pixels > options.MaxPixels
            ? $"{codec.Info.Width}×{codec.Info.Height} = {pixels} pixels exceeds the limit of {options.MaxPixels} (ImageDecodeOptions.MaxPixels)"
            : null;
    }

    /// <summary>Largest file <see cref="DecodeFile"/> reads: 8 bytes per allowed pixel plus 16 MiB.</summary>
    internal static long MaxFileBytes(ImageDecodeOptions options) => options.MaxPixels * 8 + (16L << 20);

    /// <summary>
    /// Copies an ML.NET <see cref="MLImage"/> (Bgra32 or Rgba32) into an <see cref="RgbImage"/>, dropping alpha.
    /// </summary>
    /// <remarks>
    /// MLImage decodes through <c>SKBitmap.Decode</c>, which applies no EXIF orientation and stores
    /// semi-transparent pixels premultiplied. Prefer <see cref="Decode"/>/<see cref="DecodeFile"/> for files.
    /// Version trap (checked with Microsoft.ML.ImageAnalytics 5.0.1 on SkiaSharp 3.119.0): MLImage was
    /// compiled against SkiaSharp 2.88, and its <c>Pixels</c> getter calls <c>SKBitmap.GetPixelSpan()</c>,
    /// which SkiaSharp 3 removed, so it throws <see cref="MissingMethodException"/>. This method then falls
    /// back to <c>MLImage.GetBGRPixels</c>, which works but reads pixel by pixel (about 50 ms for 500×375)
    /// and un-premultiplies (fully transparent pixels become black).
    /// </remarks>
    /// <exception cref="ArgumentException">The image's pixel format is neither Bgra32 nor Rgba32, or its buffer size is wrong.</exception>
    public static RgbImage FromMLImage(MLImage image, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(sourceName);
        int w = image.Width, h = image.Height;
        (int r, int b) = image.PixelFormat switch
        {
            MLPixelFormat.Rgba32 => (0, 2),
            MLPixelFormat.Bgra32 => (2, 0),
            _ => throw new ArgumentException(
                $"{sourceName}: MLImage pixel format {image.PixelFormat} is not supported (expected Bgra32 or Rgba32).",
                nameof(image)),
        };

        if (!Volatile.Read(ref s_mlImagePixelsMissing))
        {
            try
            {
                return FromPacked(image.Pixels, 4, r, b, w, h, sourceName);
            }
            catch (MissingMethodException)
            {
                Volatile.Write(ref s_mlImagePixelsMissing, true);
            }
        }

        return FromPacked(image.GetBGRPixels, 3, 2, 0, w, h, sourceName);
    }

    /// <summary>Set once MLImage.Pixels is found to be binary-incompatible with the loaded SkiaSharp.</summary>
    private static bool s_mlImagePixelsMissing;

    private static RgbImage FromPacked(ReadOnlySpan<byte> src, int bytesPerPixel, int r, int b, int w, int h, string sourceName)
    {
        if (src.Length != (long)bytesPerPixel * w * h)
        {
            throw new ArgumentException(
                $"{sourceName}: MLImage has {src.Length} pixel bytes, expected {bytesPerPixel}·{w}·{h} (rows must be packed).",
                "image");
        }

        var dst = new byte[3 * w * h];
        for (int i = 0, j = 0; j < dst.Length; i += bytesPerPixel, j += 3)
        {
            dst[j] = src[i + r];
            dst[j + 1] = src[i + 1];
            dst[j + 2] = src[i + b];
        }

        return new RgbImage(w, h, dst);
    }

    private static RgbImage DecodeKnownFormat(ReadOnlySpan<byte> bytes, string sourceName, string formatName, ImageDecodeOptions options)
    {
        using SKData data = SKData.CreateCopy(bytes);
        using SKCodec? codec = SKCodec.Create(data);
        if (codec is null)
        {
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.Corrupt,
                $"truncated or corrupt {formatName} data (unreadable header)");
        }

        SKImageInfo header = codec.Info;
        int w = header.Width, h = header.Height;
        if (w <= 0 || h <= 0)
        {
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.Corrupt,
                $"truncated or corrupt {formatName} data (size {w}×{h})");
        }

        long pixelCount = (long)w * h;
        if (pixelCount > options.MaxPixels)
        {
            throw new ImageDecodeException(sourceName, ImageDecodeFailure.TooLarge,
                $"{w}×{h} = {pixelCount} pixels exceeds the limit of {options.MaxPixels} (ImageDecodeOptions.MaxPixels)");
        }

        // Straight (unpremultiplied) RGBA and no destination colour space: no colour management, alpha kept
        // as stored so that dropping it gives the stored colour, as PIL's convert('RGB') does.
        var target = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int rgbaLength = checked(4 * w * h);
        byte[] rgba = ArrayPool<byte>.Shared.Rent(rgbaLength);
        try
        {
            // A GIF's first frame may not cover the canvas; rented memory must not show through.
            Array.Clear(rgba, 0, rgbaLength);
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = rgba)
                {
                    result = codec.GetPixels(target, (IntPtr)p, target.RowBytes, new SKCodecOptions(0));
                }
            }

            switch (result)
            {
                case SKCodecResult.Success:
                    break;
                case SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput or SKCodecResult.InvalidInput:
                    throw new ImageDecodeException(sourceName, ImageDecodeFailure.Corrupt,
                        $"truncated or corrupt {formatName} data");
                default:
                    throw new ImageDecodeException(sourceName, ImageDecodeFailure.Unreadable,
                        $"the {formatName} decoder cannot handle this file ({result})");
            }

            var rgb = new byte[3 * w * h];
            DropAlpha(rgba, rgb);
            var image = new RgbImage(w, h, rgb);
            return options.ApplyExifOrientation ? ImageOrientation.Apply(image, (int)codec.EncodedOrigin) : image;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    private static unsafe void DropAlpha(byte[] rgba, byte[] rgb)
    {
        fixed (byte* s0 = rgba, d0 = rgb)
        {
            byte* s = s0, d = d0, end = d0 + rgb.Length;
            while (d < end)
            {
                d[0] = s[0];
                d[1] = s[1];
                d[2] = s[2];
                s += 4;
                d += 3;
            }
        }
    }
}
