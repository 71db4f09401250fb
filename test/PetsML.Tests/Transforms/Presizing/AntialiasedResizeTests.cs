using PetsML.Tests.Transforms.Imaging;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Presizing;

[TestClass]
public sealed class AntialiasedResizeTests
{
    [TestMethod]
    [DataRow(500, 375, 460, 460)]  // upsample (the book's crop 375 → 460)
    [DataRow(900, 700, 123, 97)]   // downsample, non-square
    [DataRow(64, 64, 64, 64)]      // identity
    public void ConstantImage_StaysConstant(int w, int h, int outW, int outH)
    {
        RgbImage image = TestImages.Make(w, h, (_, _) => (37, 150, 222));
        byte[] chw = Resize(image, new PresizeBox(0, 0, w, h), PadMode.Reflection, outW, outH);
        int plane = outW * outH;
        Assert.IsTrue(chw.AsSpan(0, plane).IndexOfAnyExcept((byte)37) < 0, "R plane");
        Assert.IsTrue(chw.AsSpan(plane, plane).IndexOfAnyExcept((byte)150) < 0, "G plane");
        Assert.IsTrue(chw.AsSpan(2 * plane, plane).IndexOfAnyExcept((byte)222) < 0, "B plane");
    }

    [TestMethod]
    public void Downscale_Antialiases_ACheckerboardToGrey()
    {
        // A 1-pixel checkerboard reduced 4×: point or 2×2 bilinear sampling would keep pure 0/255 values;
        // Pillow's widened triangle averages about 8 source pixels per axis into mid grey.
        RgbImage board = TestImages.Make(400, 400, (x, y) => (x + y) % 2 == 0 ? ((byte)0, (byte)0, (byte)0) : ((byte)255, (byte)255, (byte)255));
        byte[] chw = Resize(board, new PresizeBox(0, 0, 400, 400), PadMode.Reflection, 100, 100);
        Assert.AreEqual(0, chw.Count(v => v < 118 || v > 137), $"range {chw.Min()}..{chw.Max()}");
    }

    [TestMethod]
    [DataRow(500, 375, 0, 0, 375, 375, 460, 460)]
    [DataRow(500, 375, 62, 0, 375, 375, 460, 460)]
    [DataRow(1200, 900, 150, 0, 900, 900, 460, 460)]
    [DataRow(777, 333, 0, 0, 777, 333, 100, 100)]
    [DataRow(50, 40, 0, -5, 50, 50, 73, 61)]
    [DataRow(7, 3, -20, -30, 47, 61, 40, 90)]   // pads far wider than the image
    public void MatchesAStraightforwardPillowReference(int w, int h, int bx, int by, int bw, int bh, int outW, int outH)
    {
        RgbImage image = TestImages.PhotoLike(w, h, seed: w + h);
        var box = new PresizeBox(bx, by, bw, bh);
        foreach (PadMode mode in Enum.GetValues<PadMode>())
        {
            RgbImage padded = Materialise(image, box, mode);
            byte[] expected = PillowReference(padded, outW, outH);
            byte[] actual = Resize(image, box, mode, outW, outH);
            int first = expected.AsSpan().CommonPrefixLength(actual);
            Assert.AreEqual(expected.Length, first, $"{mode}: first difference at byte {first}");
        }
    }

    [TestMethod]
    public void Pad_FillsPerMode()
    {
        // Rows of distinct grey levels 10, 20, …, 50; a box starting 2 rows above the image.
        RgbImage image = TestImages.Make(4, 5, (_, y) => ((byte)(10 * (y + 1)), (byte)(10 * (y + 1)), (byte)(10 * (y + 1))));
        var box = new PresizeBox(0, -2, 4, 7);
        Assert.AreEqual(0, Resize(image, box, PadMode.Zeros, 4, 7)[0]);
        Assert.AreEqual(10, Resize(image, box, PadMode.Border, 4, 7)[0]);
        Assert.AreEqual(30, Resize(image, box, PadMode.Reflection, 4, 7)[0]); // row −2 mirrors row 2 (edge not repeated)
        Assert.AreEqual(20, Resize(image, box, PadMode.Reflection, 4, 7)[4]); // row −1 mirrors row 1
    }

    [TestMethod]
    public void BoxOutsideTheImage_IsRejected()
    {
        RgbImage image = TestImages.Make(10, 10, (_, _) => (1, 2, 3));
        Assert.ThrowsExactly<ArgumentException>(() => Resize(image, new PresizeBox(10, 0, 5, 5), PadMode.Zeros, 4, 4));
        Assert.ThrowsExactly<ArgumentException>(
            () => AntialiasedResize.ResizeToChw(image, new PresizeBox(0, 0, 10, 10), PadMode.Zeros, 4, 4, new byte[47]));
    }

    private static byte[] Resize(RgbImage image, PresizeBox box, PadMode mode, int outW, int outH)
    {
        var chw = new byte[3 * outW * outH];
        AntialiasedResize.ResizeToChw(image, box, mode, outW, outH, chw);
        return chw;
    }

    /// <summary>The box as a real image, padded the way torchvision/numpy pad (reflect, edge, constant 0).</summary>
    private static RgbImage Materialise(RgbImage image, PresizeBox box, PadMode mode)
    {
        int loX = Math.Max(box.X, 0), hiX = Math.Min(box.X + box.Width, image.Width);
        int loY = Math.Max(box.Y, 0), hiY = Math.Min(box.Y + box.Height, image.Height);
        return TestImages.Make(box.Width, box.Height, (i, j) =>
        {
            int? sx = Source(box.X + i, loX, hiX, mode), sy = Source(box.Y + j, loY, hiY, mode);
            return sx is int x && sy is int y ? TestImages.At(image, x, y) : ((byte)0, (byte)0, (byte)0);
        });
    }

    private static int? Source(int p, int lo, int hi, PadMode mode)
    {
        if (p >= lo && p < hi)
        {
            return p;
        }

        if (mode == PadMode.Zeros)
        {
            return null;
        }

        if (mode == PadMode.Border || hi - lo == 1)
        {
            return Math.Clamp(p, lo, hi - 1);
        }

        // Reflect step by step, as numpy does for pads wider than the array.
        while (p < lo || p >= hi)
        {
            p = p < lo ? 2 * lo - p : 2 * (hi - 1) - p;
        }

        return p;
    }

    /// <summary>
    /// Pillow's Image.resize(BILINEAR) for an 8-bit RGB image, written for clarity: coefficients per
    /// Resample.c (double, normalised, rounded to 22 fractional bits), horizontal pass rounded to bytes,
    /// then the vertical pass. Output planar CHW.
    /// </summary>
    private static byte[] PillowReference(RgbImage src, int outW, int outH)
    {
        var (xMin, xW) = Coefficients(src.Width, outW);
        var (yMin, yW) = Coefficients(src.Height, outH);
        var temp = new byte[src.Height, outW, 3];
        for (int y = 0; y < src.Height; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    long sum = 1 << 21;
                    for (int k = 0; k < xW[x].Length; k++)
                    {
                        sum += src.Pixels[3 * (y * src.Width + xMin[x] + k) + c] * (long)xW[x][k];
                    }

                    temp[y, x, c] = (byte)Math.Clamp(sum >> 22, 0, 255);
                }
            }
        }

        var result = new byte[3 * outW * outH];
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    long sum = 1 << 21;
                    for (int k = 0; k < yW[y].Length; k++)
                    {
                        sum += temp[yMin[y] + k, x, c] * (long)yW[y][k];
                    }

                    result[c * outW * outH + y * outW + x] = (byte)Math.Clamp(sum >> 22, 0, 255);
                }
            }
        }

        return result;
    }

    private static (int[] Min, int[][] Weights) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1), support = filterScale;
        var min = new int[outSize];
        var weights = new int[outSize][];
        for (int o = 0; o < outSize; o++)
        {
            double centre = (o + 0.5) * scale;
            int lo = Math.Max((int)(centre - support + 0.5), 0), hi = Math.Min((int)(centre + support + 0.5), inSize);
            double[] w = Enumerable.Range(lo, hi - lo).Select(j => Math.Max(0, 1 - Math.Abs((j - centre + 0.5) / filterScale))).ToArray();
            double total = w.Sum();
            min[o] = lo;
            weights[o] = w.Select(v => (int)(0.5 + v / total * (1 << 22))).ToArray();
        }

        return (min, weights);
    }
}
