using PetsML.Transforms.Augmentation;

namespace PetsML.Tests.Transforms.Augmentation;

/// <summary>The matrices of docs/fastai-semantics.md ("Affine matrices" to "Anti-aliasing before bilinear sampling"), checked against their defining properties.</summary>
[TestClass]
public sealed class AugmentationGeometryTests
{
    private static (double X, double Y) Apply(double[] m, int offset, double x, double y)
    {
        double w = m[offset + 6] * x + m[offset + 7] * y + m[offset + 8];
        return ((m[offset] * x + m[offset + 1] * y + m[offset + 2]) / w, (m[offset + 3] * x + m[offset + 4] * y + m[offset + 5]) / w);
    }

    [TestMethod]
    public void Warp_homography_maps_each_target_corner_to_its_source_corner()
    {
        float[] xt = [0.2f, -0.13f, 0f], yt = [-0.07f, 0.2f, 0f];
        var h = AugmentationGeometry.WarpHomographies(xt, yt);
        for (int i = 0; i < 3; i++)
        {
            double x = xt[i], y = yt[i];
            var pairs = new ((double, double) Target, (double, double) Source)[]
            {
                ((-1 - y, -1 - x), (-1, -1)), ((-1 + y, 1 + x), (-1, 1)), ((1 + y, -1 + x), (1, -1)), ((1 - y, 1 - x), (1, 1)),
            };
            foreach (var ((tx, ty), (sx, sy)) in pairs)
            {
                var (px, py) = Apply(h, 9 * i, tx, ty);
                Assert.AreEqual(sx, px, 1e-9);
                Assert.AreEqual(sy, py, 1e-9);
            }
        }
        double[] identity = [1, 0, 0, 0, 1, 0, 0, 0, 1];
        for (int k = 0; k < 9; k++)
            Assert.AreEqual(identity[k], h[18 + k], 1e-12, "no warp is the identity");
    }

    [TestMethod]
    public void Affine_is_flip_times_rotate_times_zoom()
    {
        // Zoom alone: s = 1/z, translation (1 − s)(2c − 1).
        var zoom = AugmentationGeometry.AffineMap(1, 0, 1.25, 1.0, 0.0, 10, 10);
        CollectionAssert.AreEqual(new double[] { 0.8, 0, 0.2, 0, 0.8, -0.2, 0, 0, 1 }, zoom.Select(v => Math.Round(v, 12)).ToArray());
        // Flip then rotation: the first row is negated.
        var m = AugmentationGeometry.AffineMap(-1, 90, 1, 0.5, 0.5, 10, 10);
        CollectionAssert.AreEqual(new double[] { 0, -1, 0, -1, 0, 0, 0, 0, 1 }, m.Select(v => Math.Round(v, 12) + 0.0).ToArray());
        // Aspect correction for a 10 (high) × 20 (wide) source.
        var r = AugmentationGeometry.AffineMap(1, 90, 1, 0.5, 0.5, 10, 20);
        Assert.AreEqual(0.5, r[1], 1e-12);
        Assert.AreEqual(-2.0, r[3], 1e-12);
    }

    [TestMethod]
    public void Crop_map_sends_the_window_corners_to_its_pixel_centres()
    {
        var crop = new CropWindow(Top: 10, Left: 30, Height: 400, Width: 400);
        var c = AugmentationGeometry.CropMap(crop, 460, 460);
        // u = −1 → pixel 30 (x) / 10 (y); u = 1 → pixel 429 / 409; normalised v = 2p/459 − 1.
        var (x0, y0) = Apply(c, 0, -1, -1);
        var (x1, y1) = Apply(c, 0, 1, 1);
        Assert.AreEqual(2 * 30 / 459.0 - 1, x0, 1e-12);
        Assert.AreEqual(2 * 10 / 459.0 - 1, y0, 1e-12);
        Assert.AreEqual(2 * 429 / 459.0 - 1, x1, 1e-12);
        Assert.AreEqual(2 * 409 / 459.0 - 1, y1, 1e-12);
    }

    [TestMethod]
    public void Area_pre_downscale_follows_fastai_rule()
    {
        Assert.AreEqual((448, 448), AugmentationGeometry.AreaPreDownscale(CropWindow.Full(460, 460), 460, 460, 224));
        Assert.IsNull(AugmentationGeometry.AreaPreDownscale(new CropWindow(0, 0, 448, 448), 460, 460, 224));
        Assert.IsNull(AugmentationGeometry.AreaPreDownscale(new CropWindow(0, 0, 398, 398), 460, 460, 224));
        // d = 455/448 → floor(460/d) = floor(460·448/455).
        Assert.AreEqual((452, 452), AugmentationGeometry.AreaPreDownscale(new CropWindow(5, 5, 455, 455), 460, 460, 224));
        Assert.AreEqual((448, 1000 * 448 / 900),
            AugmentationGeometry.AreaPreDownscale(new CropWindow(0, 50, 900, 900), 900, 1000, 224));
    }
}
