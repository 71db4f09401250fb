using Microsoft.ML.Data;
using PetsML.Transforms.Imaging;
using SkiaSharp;

namespace PetsML.Tests.Transforms.Imaging;

[TestClass]
public sealed class ImageDecoderTests
{
    private static readonly (byte, byte, byte) Red = (255, 0, 0), Green = (0, 255, 0), Blue = (0, 0, 255);

    [TestMethod]
    public void Png_RoundTripsExactly()
    {
        RgbImage source = TestImages.PhotoLike(37, 23, seed: 1);
        RgbImage decoded = ImageDecoder.Decode(TestImages.Encode(source, SKEncodedImageFormat.Png), "a.png");
        Assert.AreEqual(37, decoded.Width);
        Assert.AreEqual(23, decoded.Height);
        CollectionAssert.AreEqual(source.Pixels, decoded.Pixels);
    }

    [TestMethod]
    public void Jpeg_DecodesCloseToTheSource()
    {
        RgbImage source = TestImages.PhotoLike(64, 48, seed: 2);
        RgbImage decoded = ImageDecoder.Decode(TestImages.Encode(source, SKEncodedImageFormat.Jpeg, 95), "a.jpg");
        Assert.AreEqual(64, decoded.Width);
        Assert.AreEqual(48, decoded.Height);
        double meanError = source.Pixels.Zip(decoded.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.IsLessThan(6.0, meanError, $"mean absolute error {meanError}");
    }

    [TestMethod]
    public void LosslessWebP_RoundTripsExactly()
    {
        RgbImage source = TestImages.PhotoLike(20, 12, seed: 3);
        RgbImage decoded = ImageDecoder.Decode(TestImages.EncodeLosslessWebP(source), "a.webp");
        CollectionAssert.AreEqual(source.Pixels, decoded.Pixels);
    }

    [TestMethod]
    public void Bmp_RoundTripsExactly()
    {
        RgbImage source = TestImages.PhotoLike(13, 7, seed: 4); // odd width: rows are padded
        RgbImage decoded = ImageDecoder.Decode(TestImages.EncodeBmp(source), "a.bmp");
        CollectionAssert.AreEqual(source.Pixels, decoded.Pixels);
    }

    [TestMethod]
    public void PngAndGifSavedUnderJpgName_AreDecodedByContent()
    {
        string folder = TestImages.TempFolder();
        try
        {
            RgbImage source = TestImages.PhotoLike(16, 10, seed: 5);
            string png = Path.Combine(folder, "really_a_png_1.jpg");
            File.WriteAllBytes(png, TestImages.Encode(source, SKEncodedImageFormat.Png));
            CollectionAssert.AreEqual(source.Pixels, ImageDecoder.DecodeFile(png).Pixels);

            // Two frames: the first is left red / right blue, the second all green. Only the first is decoded.
            (byte, byte, byte)[] palette = [Red, Green, Blue];
            byte[] first = Enumerable.Range(0, 16 * 10).Select(i => (byte)(i % 16 < 8 ? 0 : 2)).ToArray();
            byte[] second = Enumerable.Repeat((byte)1, 16 * 10).ToArray();
            string gif = Path.Combine(folder, "really_a_gif_2.jpg");
            File.WriteAllBytes(gif, TestImages.EncodeGif(16, 10, palette, first, second));
            RgbImage decoded = ImageDecoder.DecodeFile(gif);
            Assert.AreEqual(16, decoded.Width);
            Assert.AreEqual(10, decoded.Height);
            for (int y = 0; y < 10; y++)
            {
                for (int x = 0; x < 16; x++)
                {
                    Assert.AreEqual(x < 8 ? Red : Blue, TestImages.At(decoded, x, y), $"pixel ({x}, {y})");
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void GrayscalePng_GivesEqualChannels()
    {
        byte[] png = TestImages.EncodeGrayPng(30, 5, (x, y) => (byte)(x * 8 + y));
        RgbImage decoded = ImageDecoder.Decode(png, "gray.png");
        for (int y = 0; y < 5; y++)
        {
            for (int x = 0; x < 30; x++)
            {
                byte g = (byte)(x * 8 + y);
                Assert.AreEqual((g, g, g), TestImages.At(decoded, x, y));
            }
        }
    }

    [TestMethod]
    public void Alpha_IsDroppedNotComposited()
    {
        // PIL's convert('RGB') keeps the stored colour whatever the alpha; compositing on black or white would not.
        byte[] alphas = [255, 128, 10, 1];
        byte[] png = TestImages.EncodeRgbaPng(4, 1, (x, _) => (200, 100, 50, alphas[x]));
        RgbImage decoded = ImageDecoder.Decode(png, "alpha.png");
        for (int x = 0; x < 4; x++)
        {
            Assert.AreEqual(((byte)200, (byte)100, (byte)50), TestImages.At(decoded, x, 0), $"alpha {alphas[x]}");
        }
    }

    [TestMethod]
    public void AdobeCmykJpeg_IsConvertedToRgb()
    {
        // Data/cmyk.jpg (315 bytes) was made once with ImageMagick 6.9.11:
        //   convert -size 8x8 xc:red xc:lime xc:blue xc:white xc:black +append -colorspace CMYK -quality 95 -strip cmyk.jpg
        // It carries an Adobe APP14 marker (inverted CMYK), as Photoshop's CMYK JPEGs do. PIL decodes its
        // blocks to (255,0,0) (0,255,1) (0,0,255) (255,255,255) (0,0,0).
        string path = Path.Combine(AppContext.BaseDirectory, "Transforms", "Imaging", "Data", "cmyk.jpg");
        RgbImage decoded = ImageDecoder.DecodeFile(path);
        Assert.AreEqual(40, decoded.Width);
        Assert.AreEqual(8, decoded.Height);
        (int, int, int)[] expected = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)];
        for (int block = 0; block < 5; block++)
        {
            var (r, g, b) = TestImages.At(decoded, block * 8 + 4, 4);
            var (er, eg, eb) = expected[block];
            Assert.IsTrue(Math.Abs(r - er) <= 8 && Math.Abs(g - eg) <= 8 && Math.Abs(b - eb) <= 8,
                $"block {block}: got ({r},{g},{b}), expected about ({er},{eg},{eb})");
        }
    }

    [TestMethod]
    public void ZeroByteFile_IsEmpty()
    {
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageDecoder.Decode([], "cat_1.jpg"));
        Assert.AreEqual(ImageDecodeFailure.Empty, e.Reason);
        Assert.AreEqual("cat_1.jpg", e.SourceName);
        Assert.AreEqual("cat_1.jpg: zero-byte file", e.Message);
    }

    [TestMethod]
    public void TextFile_IsNotAnImage()
    {
        var e = Assert.ThrowsExactly<ImageDecodeException>(
            () => ImageDecoder.Decode("BM is not a bitmap, just text\n"u8, "x.jpg"));
        Assert.AreEqual(ImageDecodeFailure.NotAnImage, e.Reason);
        Assert.AreEqual("x.jpg: not an image (no JPEG/PNG/GIF/BMP/WebP signature)", e.Message);
    }

    [TestMethod]
    public void TruncatedJpeg_IsCorrupt()
    {
        byte[] jpeg = TestImages.Encode(TestImages.PhotoLike(120, 90, seed: 6), SKEncodedImageFormat.Jpeg);
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageDecoder.Decode(jpeg.AsSpan(0, jpeg.Length / 2), "y.jpg"));
        Assert.AreEqual(ImageDecodeFailure.Corrupt, e.Reason);
        Assert.AreEqual("y.jpg: truncated or corrupt JPEG data", e.Message);
    }

    [TestMethod]
    public void TruncatedPng_IsCorrupt()
    {
        byte[] png = TestImages.Encode(TestImages.PhotoLike(120, 90, seed: 7), SKEncodedImageFormat.Png);
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, png.Length / 2), "y.png"));
        Assert.AreEqual(ImageDecodeFailure.Corrupt, e.Reason);
        StringAssert.StartsWith(e.Message, "y.png: truncated or corrupt PNG data");
    }

    [TestMethod]
    public void A_file_larger_than_any_image_within_the_pixel_limit_is_refused_before_it_is_read()
    {
        var path = Path.Combine(Path.GetTempPath(), $"petsml-huge-{Guid.NewGuid():N}.png");
        try
        {
            var options = new ImageDecodeOptions { MaxPixels = 100 };
            using (var file = File.Create(path))
            {
                file.Write(TestImages.Encode(TestImages.PhotoLike(10, 10, seed: 1), SKEncodedImageFormat.Png));
                file.SetLength(800 + (16L << 20) + 1); // sparse: nothing is written past the PNG
            }
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageDecoder.DecodeFile(path, options));
            Assert.IsLessThan(1L << 20, GC.GetAllocatedBytesForCurrentThread() - before, "the file is not read");
            Assert.AreEqual(ImageDecodeFailure.TooLarge, e.Reason);
            Assert.AreEqual($"{path}: 16778017 bytes exceeds the limit of 16778016 for images of at most 100 pixels (ImageDecodeOptions.MaxPixels)", e.Message);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void PixelLimit_IsCheckedFromTheHeader()
    {
        byte[] png = TestImages.Encode(TestImages.PhotoLike(20, 10, seed: 8), SKEncodedImageFormat.Png);
        Assert.AreEqual(20, ImageDecoder.Decode(png, "ok.png", new ImageDecodeOptions { MaxPixels = 200 }).Width);
        var e = Assert.ThrowsExactly<ImageDecodeException>(
            () => ImageDecoder.Decode(png, "z.png", new ImageDecodeOptions { MaxPixels = 199 }));
        Assert.AreEqual(ImageDecodeFailure.TooLarge, e.Reason);
        Assert.AreEqual("z.png: 20×10 = 200 pixels exceeds the limit of 199 (ImageDecodeOptions.MaxPixels)", e.Message);

        // A header claiming 20000×20000 over a tiny body: refused with the default limit, before any 1.6 GB buffer.
        byte[] bomb = TestImages.WithPngHeaderSize(png, 20000, 20000);
        e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageDecoder.Decode(bomb, "z.png"));
        Assert.AreEqual(ImageDecodeFailure.TooLarge, e.Reason);
        Assert.AreEqual("z.png: 20000×20000 = 400000000 pixels exceeds the limit of 89478485 (ImageDecodeOptions.MaxPixels)", e.Message);
    }

    [TestMethod]
    public void MaxPixels_MustBePositive()
    {
        // Checked where the options are used, as every PetsML options class is.
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new PresizeTransformer("Out", "In", new PresizeOptions(), new ImageDecodeOptions { MaxPixels = 0 }));
        Assert.AreEqual("MaxPixels", e.ParamName);
        StringAssert.Contains(e.Message, "ImageDecodeOptions.MaxPixels");
    }

    [TestMethod]
    public void MissingFile_IsUnreadable()
    {
        string path = Path.Combine(TestImages.TempFolder(), "missing.jpg");
        var e = Assert.ThrowsExactly<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));
        Assert.AreEqual(ImageDecodeFailure.Unreadable, e.Reason);
        Assert.AreEqual(path, e.SourceName);
        Assert.IsInstanceOfType<FileNotFoundException>(e.InnerException);
        Directory.Delete(Path.GetDirectoryName(path)!);
    }

    [TestMethod]
    public void ExifOrientation_IsAppliedByDefault_AndCanBeTurnedOff()
    {
        // Stored 40×20: top-left 20×10 quadrant red, the rest blue. Orientation 6 means "turn 90° clockwise
        // to view", so the upright picture is 20×40 with the red quadrant at the top right.
        RgbImage stored = TestImages.Make(40, 20, (x, y) => x < 20 && y < 10 ? Red : Blue);
        byte[] jpeg = TestImages.WithExifOrientation(TestImages.Encode(stored, SKEncodedImageFormat.Jpeg, 95), 6);

        RgbImage upright = ImageDecoder.Decode(jpeg, "rotated.jpg");
        Assert.AreEqual(20, upright.Width);
        Assert.AreEqual(40, upright.Height);
        AssertNear(Red, TestImages.At(upright, 15, 5));
        AssertNear(Blue, TestImages.At(upright, 5, 5));
        AssertNear(Blue, TestImages.At(upright, 15, 35));

        RgbImage raw = ImageDecoder.Decode(jpeg, "rotated.jpg", new ImageDecodeOptions { ApplyExifOrientation = false });
        Assert.AreEqual(40, raw.Width);
        Assert.AreEqual(20, raw.Height);
        AssertNear(Red, TestImages.At(raw, 5, 5));
    }

    [TestMethod]
    public void Orientation_PutsTheStoredOriginWhereExifSays()
    {
        // Where the stored pixel (0, 0) must appear in the upright picture, from the EXIF definition of
        // tag 0x0112 (which side the stored 0th row / 0th column is on). Stored image is 3×2.
        (int X, int Y)[] origin = [(0, 0), (0, 0), (2, 0), (2, 1), (0, 1), (0, 0), (1, 0), (1, 2), (0, 2)];
        RgbImage stored = TestImages.Make(3, 2, (x, y) => ((byte)(10 * x + y + 1), 0, 0));
        for (int orientation = 1; orientation <= 8; orientation++)
        {
            RgbImage upright = ImageOrientation.Apply(stored, orientation);
            bool swapped = orientation >= 5;
            Assert.AreEqual(swapped ? 2 : 3, upright.Width, $"orientation {orientation}");
            var (x, y) = origin[orientation];
            Assert.AreEqual(1, TestImages.At(upright, x, y).R, $"orientation {orientation}");
            CollectionAssert.AreEquivalent(stored.Pixels, upright.Pixels, $"orientation {orientation} must only move pixels");
        }
    }

    [TestMethod]
    public void FromMLImage_ReadsBgraAndRgba()
    {
        // Opaque pixels: premultiplied and straight storage agree, whichever path MLImage allows.
        byte[] bgra = [10, 20, 30, 255, 40, 50, 60, 255];
        using MLImage bgraImage = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Bgra32, bgra);
        RgbImage fromBgra = ImageDecoder.FromMLImage(bgraImage, "mem");
        CollectionAssert.AreEqual(new byte[] { 30, 20, 10, 60, 50, 40 }, fromBgra.Pixels);

        using MLImage rgbaImage = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Rgba32, bgra);
        CollectionAssert.AreEqual(new byte[] { 10, 20, 30, 40, 50, 60 }, ImageDecoder.FromMLImage(rgbaImage, "mem").Pixels);
    }

    private static void AssertNear((byte R, byte G, byte B) expected, (byte R, byte G, byte B) actual)
    {
        Assert.IsTrue(Math.Abs(expected.R - actual.R) <= 40 && Math.Abs(expected.G - actual.G) <= 40 && Math.Abs(expected.B - actual.B) <= 40,
            $"expected about {expected}, got {actual}");
    }
}
