using System.Buffers.Binary;
using PetsML.Transforms.Imaging;
using SkiaSharp;

namespace PetsML.Tests.Transforms.Imaging;

/// <summary>Builds encoded test images in memory: SkiaSharp for JPEG/PNG/WebP, hand-written GIF and BMP (Skia has no encoders for those).</summary>
internal static class TestImages
{
    /// <summary>An RGB image whose pixel (x, y) is <paramref name="color"/>(x, y).</summary>
    public static RgbImage Make(int width, int height, Func<int, int, (byte R, byte G, byte B)> color)
    {
        var pixels = new byte[3 * width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = color(x, y);
                int i = 3 * (y * width + x);
                pixels[i] = r;
                pixels[i + 1] = g;
                pixels[i + 2] = b;
            }
        }

        return new RgbImage(width, height, pixels);
    }

    /// <summary>Smooth colour gradients plus seeded noise: compresses like a photo, not like flat colour.</summary>
    public static RgbImage PhotoLike(int width, int height, int seed)
    {
        var random = new Random(seed);
        double fx = 0.02 + random.NextDouble() * 0.03, fy = 0.02 + random.NextDouble() * 0.03;
        return Make(width, height, (x, y) =>
        {
            int n = random.Next(-12, 13);
            return (Clamp(128 + 90 * Math.Sin(x * fx) + n), Clamp(128 + 90 * Math.Cos(y * fy) + n), Clamp(128 + 60 * Math.Sin((x + y) * 0.01) + n));
        });
    }

    public static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);

    /// <summary>Encodes with SkiaSharp (JPEG, PNG or lossy WebP).</summary>
    public static byte[] Encode(RgbImage image, SKEncodedImageFormat format, int quality = 90)
    {
        using var bitmap = ToBitmap(image);
        using SKData data = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"Skia cannot encode {format}");
        return data.ToArray();
    }

    /// <summary>Lossless WebP.</summary>
    public static byte[] EncodeLosslessWebP(RgbImage image)
    {
        using var bitmap = ToBitmap(image);
        using SKPixmap pixmap = bitmap.PeekPixels() ?? throw new InvalidOperationException("no pixmap");
        using SKData data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))
            ?? throw new InvalidOperationException("Skia cannot encode lossless WebP");
        return data.ToArray();
    }

    /// <summary>An RGBA PNG with straight (unpremultiplied) alpha.</summary>
    public static byte[] EncodeRgbaPng(int width, int height, Func<int, int, (byte R, byte G, byte B, byte A)> color)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var bytes = new byte[4 * width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b, a) = color(x, y);
                int i = 4 * (y * width + x);
                (bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]) = (r, g, b, a);
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(bytes, 0, bitmap.GetPixels(), bytes.Length);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>An 8-bit grayscale PNG.</summary>
    public static byte[] EncodeGrayPng(int width, int height, Func<int, int, byte> gray)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var bytes = new byte[width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bytes[y * width + x] = gray(x, y);
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(bytes, 0, bitmap.GetPixels(), bytes.Length);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[4 * image.Width * image.Height];
        for (int i = 0, j = 0; j < image.Pixels.Length; i += 4, j += 3)
        {
            rgba[i] = image.Pixels[j];
            rgba[i + 1] = image.Pixels[j + 1];
            rgba[i + 2] = image.Pixels[j + 2];
            rgba[i + 3] = 255;
        }

        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    /// <summary>A 24-bit bottom-up BMP (BITMAPINFOHEADER, rows padded to 4 bytes, BGR order).</summary>
    public static byte[] EncodeBmp(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        int rowBytes = (3 * w + 3) & ~3;
        var bmp = new byte[54 + rowBytes * h];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        for (int y = 0; y < h; y++)
        {
            int row = 54 + (h - 1 - y) * rowBytes;
            for (int x = 0; x < w; x++)
            {
                int s = 3 * (y * w + x);
                bmp[row + 3 * x] = image.Pixels[s + 2];
                bmp[row + 3 * x + 1] = image.Pixels[s + 1];
                bmp[row + 3 * x + 2] = image.Pixels[s];
            }
        }

        return bmp;
    }

    /// <summary>
    /// A GIF89a with a 256-colour global palette and one image per frame (each frame a full-canvas array
    /// of palette indices). The LZW stream sends a clear code every 254 literals so codes stay 9 bits
    /// wide: valid, just uncompressed.
    /// </summary>
    public static byte[] EncodeGif(int width, int height, (byte R, byte G, byte B)[] palette, params byte[][] frames)
    {
        var output = new List<byte>();
        output.AddRange("GIF89a"u8.ToArray());
        output.AddRange(BitConverter.GetBytes((ushort)width));
        output.AddRange(BitConverter.GetBytes((ushort)height));
        output.AddRange(new byte[] { 0xF7, 0, 0 }); // global table of 2^(7+1) colours
        for (int i = 0; i < 256; i++)
        {
            var (r, g, b) = i < palette.Length ? palette[i] : ((byte)0, (byte)0, (byte)0);
            output.AddRange(new[] { r, g, b });
        }

        foreach (byte[] indices in frames)
        {
            output.AddRange(new byte[] { 0x21, 0xF9, 4, 0x04, 10, 0, 0, 0 }); // graphic control: keep, 0.1 s
            output.Add(0x2C);
            output.AddRange(new byte[] { 0, 0, 0, 0 });
            output.AddRange(BitConverter.GetBytes((ushort)width));
            output.AddRange(BitConverter.GetBytes((ushort)height));
            output.Add(0);
            output.Add(8); // LZW minimum code size
            byte[] lzw = UncompressedLzw(indices);
            for (int i = 0; i < lzw.Length; i += 255)
            {
                int n = Math.Min(255, lzw.Length - i);
                output.Add((byte)n);
                output.AddRange(lzw.AsSpan(i, n).ToArray());
            }

            output.Add(0);
        }

        output.Add(0x3B);
        return output.ToArray();
    }

    private static byte[] UncompressedLzw(byte[] indices)
    {
        const int clear = 256, end = 257;
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        void Emit(int code)
        {
            buffer |= code << bits;
            bits += 9;
            while (bits >= 8)
            {
                bytes.Add((byte)buffer);
                buffer >>= 8;
                bits -= 8;
            }
        }

        for (int i = 0; i < indices.Length; i++)
        {
            if (i % 254 == 0)
            {
                Emit(clear);
            }

            Emit(indices[i]);
        }

        Emit(end);
        if (bits > 0)
        {
            bytes.Add((byte)buffer);
        }

        return bytes.ToArray();
    }

    /// <summary>Inserts an EXIF APP1 segment with only an orientation tag right after a JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new List<byte>();
        tiff.AddRange("MM"u8.ToArray());
        tiff.AddRange(new byte[] { 0, 42, 0, 0, 0, 8 });        // big-endian TIFF header, IFD0 at 8
        tiff.AddRange(new byte[] { 0, 1 });                     // one entry
        tiff.AddRange(new byte[] { 0x01, 0x12, 0, 3, 0, 0, 0, 1 }); // tag 0x0112 Orientation, SHORT, count 1
        tiff.AddRange(new byte[] { (byte)(orientation >> 8), (byte)orientation, 0, 0 });
        tiff.AddRange(new byte[] { 0, 0, 0, 0 });               // no next IFD
        var payload = new List<byte>();
        payload.AddRange("Exif\0\0"u8.ToArray());
        payload.AddRange(tiff);
        int length = payload.Count + 2;
        var result = new List<byte> { 0xFF, 0xD8, 0xFF, 0xE1, (byte)(length >> 8), (byte)length };
        result.AddRange(payload);
        result.AddRange(jpeg.AsSpan(2).ToArray());
        return result.ToArray();
    }

    /// <summary>Rewrites a PNG's IHDR width and height (and its CRC) without touching the pixel data.</summary>
    public static byte[] WithPngHeaderSize(byte[] png, int width, int height)
    {
        var copy = (byte[])png.Clone();
        // Signature (8) + length (4) + "IHDR" (4): width at 16, height at 20, CRC after the 13 data bytes.
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(29), Crc32(copy.AsSpan(12, 17)));
        return copy;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>The RGB triple at (x, y).</summary>
    public static (byte R, byte G, byte B) At(RgbImage image, int x, int y)
    {
        int i = 3 * (y * image.Width + x);
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }

    /// <summary>A fresh empty temporary folder; delete it in a finally block.</summary>
    public static string TempFolder()
    {
        return Directory.CreateTempSubdirectory("petsml-tests-").FullName;
    }
}
