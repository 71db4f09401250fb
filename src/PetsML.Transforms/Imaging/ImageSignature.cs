using System.Buffers.Binary;

namespace PetsML.Transforms.Imaging;

/// <summary>The image formats PetsML decodes, recognised by their leading bytes.</summary>
internal enum ImageFormat
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    Bmp,
    WebP,
}

/// <summary>
/// Names the format from the file's magic bytes. Decoding goes by content, never by extension:
/// data sets contain PNGs and GIFs saved under a <c>.jpg</c> name, and PIL opens them anyway.
/// </summary>
internal static class ImageSignature
{
    /// <summary>The list used in "not an image" messages.</summary>
    public const string KnownFormats = "JPEG/PNG/GIF/BMP/WebP";

    public static ImageFormat Detect(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return ImageFormat.Png;
        }

        if (bytes.StartsWith("GIF87a"u8) || bytes.StartsWith("GIF89a"u8))
        {
            return ImageFormat.Gif;
        }

        if (bytes.Length >= 12 && bytes.StartsWith("RIFF"u8) && bytes.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }

        // "BM" alone is weak (a text file may start with it); also require a plausible header size.
        if (bytes.Length >= 18 && bytes.StartsWith("BM"u8))
        {
            uint dibHeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(14, 4));
            if (dibHeaderSize is 12 or 40 or 52 or 56 or 64 or 108 or 124)
            {
                return ImageFormat.Bmp;
            }
        }

        return ImageFormat.Unknown;
    }

    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.Png => "PNG",
        ImageFormat.Gif => "GIF",
        ImageFormat.Bmp => "BMP",
        ImageFormat.WebP => "WebP",
        _ => "unknown",
    };
}
