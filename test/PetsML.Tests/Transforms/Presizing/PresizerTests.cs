using PetsML.Tests.Transforms.Imaging;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Presizing;

[TestClass]
public sealed class PresizerTests
{
    [TestMethod]
    [DataRow(0.5, 62)]
    [DataRow(0.0, 0)]
    [DataRow(1.0, 125)]
    public void Crop_MarkerLandsWhereTheBoxPutsIt(double pctX, int boxX)
    {
        // Black 500×375 with a white 10×10 marker at x 300..309, y 100..109. The 375² box at boxX is scaled
        // by 460/375, so the marker's centre (304.5, 104.5) lands at ((304.5 − boxX + 0.5)·s − 0.5, (104.5 + 0.5)·s − 0.5).
        RgbImage image = TestImages.Make(500, 375, (x, y) => x is >= 300 and < 310 && y is >= 100 and < 110
            ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));
        byte[] chw = Presizer.Presize(image, new PresizeOptions(), pctX, PresizeGeometry.ValidationPct);
        Assert.HasCount(3 * 460 * 460, chw);

        double s = 460.0 / 375;
        var (cx, cy) = Centroid(chw, 460, 460, plane: 1);
        Assert.AreEqual((304.5 - boxX + 0.5) * s - 0.5, cx, 0.5);
        Assert.AreEqual((104.5 + 0.5) * s - 0.5, cy, 0.5);
    }

    [TestMethod]
    public void Squish_KeepsTheWholeImage()
    {
        // Four coloured quadrants; after squishing 500×375 to 460×460 each quadrant fills its output quadrant.
        (byte, byte, byte)[] colours = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)];
        RgbImage image = TestImages.Make(500, 375, (x, y) => colours[(x < 250 ? 0 : 1) + (y < 187 ? 0 : 2)]);
        byte[] chw = Presizer.Presize(image, new PresizeOptions { Method = PresizeMethod.Squish }, 0.5, 0.5);
        (int X, int Y)[] probes = [(5, 5), (455, 5), (5, 455), (455, 455)];
        for (int q = 0; q < 4; q++)
        {
            var (x, y) = probes[q];
            var pixel = (chw[y * 460 + x], chw[460 * 460 + y * 460 + x], chw[2 * 460 * 460 + y * 460 + x]);
            Assert.AreEqual(colours[q], pixel, $"quadrant {q}");
        }
    }

    [TestMethod]
    public void Pad_DefaultReflection_MirrorsTheImageIntoTheBorder()
    {
        // 500×375 padded to a 500² box (62 rows above, 63 below), resized to 500: no resampling, so the
        // output row r is image row reflect(r − 62).
        RgbImage image = TestImages.Make(500, 375, (_, y) => ((byte)(y % 251), 0, 0));
        byte[] chw = Presizer.Presize(image, new PresizeOptions { Size = 500, Method = PresizeMethod.Pad }, 0.5, 0.5);
        for (int row = 0; row < 500; row++)
        {
            int y = row - 62;
            int source = y < 0 ? -y : y >= 375 ? 2 * 374 - y : y;
            Assert.AreEqual((byte)(source % 251), chw[row * 500 + 250], $"output row {row}");
        }
    }

    [TestMethod]
    public void Destination_MustHoldTheOutput()
    {
        RgbImage image = TestImages.Make(10, 10, (_, _) => (1, 2, 3));
        Assert.ThrowsExactly<ArgumentException>(
            () => Presizer.Presize(image, new PresizeOptions { Size = 8 }, 0.5, 0.5, new byte[3 * 8 * 8 - 1]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Presizer.Presize(image, new PresizeOptions(), 2, 0.5));
    }

    private static (double X, double Y) Centroid(byte[] chw, int w, int h, int plane)
    {
        double sum = 0, sx = 0, sy = 0;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                double v = chw[plane * w * h + y * w + x];
                sum += v;
                sx += v * x;
                sy += v * y;
            }
        }

        return (sx / sum, sy / sum);
    }
}
