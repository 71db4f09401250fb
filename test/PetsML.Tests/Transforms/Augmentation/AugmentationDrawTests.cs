using PetsML.Transforms.Augmentation;
using TorchSharp;

namespace PetsML.Tests.Transforms.Augmentation;

/// <summary>
/// The random parameters follow fastai's distributions (docs/fastai-semantics.md, "Affine matrices" to "Lighting"). 4000 images from
/// one seeded generator: a rate p has a standard error of √(p(1−p)/4000) ≤ 0.008, so ±0.03 is about 4σ.
/// </summary>
[TestClass]
public sealed class AugmentationDrawTests
{
    private const int Images = 4000;
    private static readonly AugmentOptions Defaults = new();

    private static AugmentationDraw Draw(ulong seed = 7, int count = Images, int height = 460, int width = 460)
    {
        using var generator = new torch.Generator(seed);
        return AugmentationDraw.Sample(Defaults, count, height, width, generator);
    }

    private static double Rate(IEnumerable<float> values, Func<float, bool> predicate) =>
        values.Count(predicate) / (double)values.Count();

    [TestMethod]
    public void Flip_is_a_fair_coin_of_minus_one_and_one()
    {
        var draw = Draw();
        Assert.AreEqual(Images, draw.Count);
        Assert.IsTrue(draw.FlipSign.All(f => f is 1f or -1f));
        Assert.AreEqual(0.5, Rate(draw.FlipSign, f => f == -1f), 0.03);
    }

    [TestMethod]
    public void Rotation_is_uniform_within_ten_degrees_and_applied_three_times_in_four()
    {
        var draw = Draw();
        Assert.IsTrue(draw.RotationDegrees.All(r => r >= -10f && r <= 10f));
        Assert.AreEqual(0.75, Rate(draw.RotationDegrees, r => r != 0f), 0.03);
        var applied = draw.RotationDegrees.Where(r => r != 0f).ToArray();
        Assert.AreEqual(0.0, applied.Average(), 0.4, "U(−10, 10) has mean 0 (σ of the mean ≈ 0.1).");
        // Uniform on [−10, 10]: a quarter of the applied draws lie beyond ±5.
        Assert.AreEqual(0.5, Rate(applied, r => Math.Abs(r) > 5f), 0.04);
        Assert.IsTrue(applied.Min() < -9.9f && applied.Max() > 9.9f, "The whole range is reached.");
    }

    [TestMethod]
    public void Zoom_is_within_one_and_1_1_and_centres_are_always_drawn()
    {
        var draw = Draw();
        Assert.IsTrue(draw.Zoom.All(z => z >= 1f && z <= 1.1f));
        Assert.AreEqual(0.75, Rate(draw.Zoom, z => z != 1f), 0.03);
        Assert.AreEqual(1.05, draw.Zoom.Where(z => z != 1f).Average(), 0.003);
        foreach (var centres in new[] { draw.ZoomCenterX, draw.ZoomCenterY })
        {
            Assert.IsTrue(centres.All(c => c >= 0f && c < 1f));
            Assert.AreEqual(0.5, centres.Average(), 0.02);
            Assert.AreEqual(0.25, Rate(centres, c => c < 0.25f), 0.03, "Centres are uniform on [0, 1).");
        }
    }

    [TestMethod]
    public void Warp_axes_are_uniform_within_0_2_and_masked_independently()
    {
        var draw = Draw();
        foreach (var warp in new[] { draw.WarpX, draw.WarpY })
        {
            Assert.IsTrue(warp.All(v => v >= -0.2f && v <= 0.2f));
            Assert.AreEqual(0.75, Rate(warp, v => v != 0f), 0.03);
            Assert.IsTrue(warp.Min() < -0.19f && warp.Max() > 0.19f);
        }
        double both = Enumerable.Range(0, Images).Count(i => draw.WarpX[i] != 0f && draw.WarpY[i] != 0f) / (double)Images;
        Assert.AreEqual(0.75 * 0.75, both, 0.03, "Each axis has its own Bernoulli(0.75) mask.");
    }

    [TestMethod]
    public void Brightness_and_contrast_follow_fastai_lighting()
    {
        var draw = Draw();
        Assert.IsTrue(draw.Brightness.All(b => b >= 0.4f && b <= 0.6f));
        Assert.AreEqual(0.75, Rate(draw.Brightness, b => b != 0.5f), 0.03);
        Assert.IsTrue(draw.Contrast.All(c => c >= 0.8f - 1e-6f && c <= 1.25f + 1e-6f));
        Assert.AreEqual(0.75, Rate(draw.Contrast, c => c != 1f), 0.03);
        // c = exp(U(ln 0.8, −ln 0.8)): ln c is symmetric around 0, so c < 1 as often as c > 1.
        var applied = draw.Contrast.Where(c => c != 1f).ToArray();
        Assert.AreEqual(0.5, Rate(applied, c => c < 1f), 0.03);
        Assert.AreEqual(0.0, applied.Average(c => Math.Log(c)), 0.01);
        bool independent = Math.Abs(Enumerable.Range(0, Images)
            .Count(i => draw.Brightness[i] != 0.5f && draw.Contrast[i] != 1f) / (double)Images - 0.5625) < 0.03;
        Assert.IsTrue(independent, "Brightness and contrast have separate masks.");
    }

    [TestMethod]
    public void Crop_window_is_one_square_per_batch_between_398_and_460_and_inside_the_image()
    {
        int expectedMin = (int)Math.Round(Math.Sqrt(0.75) * 460);
        Assert.AreEqual(398, expectedMin);
        var sides = new List<int>();
        using var generator = new torch.Generator(11);
        for (int batch = 0; batch < 400; batch++)
        {
            var crop = AugmentationDraw.Sample(Defaults, 2, 460, 460, generator).Crop;
            Assert.AreEqual(crop.Height, crop.Width, "ratio (1, 1) gives squares");
            Assert.IsTrue(crop.Height >= expectedMin && crop.Height <= 460, $"side {crop.Height}");
            Assert.IsTrue(crop.FitsIn(460, 460), crop.ToString());
            sides.Add(crop.Height);
        }
        // side = √(U(0.75, 1))·460: the median area fraction 0.875 gives side ≈ 430.
        Assert.IsTrue(sides.Min() <= 402 && sides.Max() >= 458, $"range {sides.Min()}..{sides.Max()}");
        Assert.AreEqual(Math.Sqrt(0.875) * 460, sides.Order().ElementAt(sides.Count / 2), 5);
    }

    [TestMethod]
    public void Crop_top_left_is_uniform_over_the_free_range()
    {
        var options = new AugmentOptions { MinScale = 0.25 };
        using var generator = new torch.Generator(5);
        var relative = new List<double>();
        for (int batch = 0; batch < 400; batch++)
        {
            var crop = AugmentationDraw.Sample(options, 1, 200, 300, generator).Crop;
            Assert.IsTrue(crop.FitsIn(200, 300), crop.ToString());
            if (crop.Height < 200)
                relative.Add(crop.Top / (double)(200 - crop.Height));
        }
        Assert.AreEqual(0.5, relative.Average(), 0.05);
        Assert.IsTrue(relative.Min() < 0.05 && relative.Max() > 0.95);
    }

    [TestMethod]
    public void Same_seed_gives_the_same_draw_and_another_seed_a_different_one()
    {
        var a = Draw(seed: 3, count: 64);
        var b = Draw(seed: 3, count: 64);
        var c = Draw(seed: 4, count: 64);
        foreach (var (x, y) in Fields(a).Zip(Fields(b)))
            CollectionAssert.AreEqual(x, y);
        Assert.AreEqual(a.Crop, b.Crop);
        Assert.IsFalse(Fields(a).Zip(Fields(c)).All(p => p.First.SequenceEqual(p.Second)));
    }

    [TestMethod]
    public void Disabled_options_give_neutral_values()
    {
        var options = new AugmentOptions
        {
            DoFlip = false, MaxRotate = 0, MaxZoom = 1, MaxWarp = 0, MaxLighting = 0, MinScale = 1,
        };
        using var generator = new torch.Generator(9);
        var draw = AugmentationDraw.Sample(options, 200, 64, 64, generator);
        Assert.IsTrue(draw.FlipSign.All(v => v == 1f));
        Assert.IsTrue(draw.RotationDegrees.All(v => v == 0f));
        Assert.IsTrue(draw.Zoom.All(v => v == 1f));
        Assert.IsTrue(draw.WarpX.Concat(draw.WarpY).All(v => v == 0f));
        Assert.IsTrue(draw.Brightness.All(v => v == 0.5f));
        Assert.IsTrue(draw.Contrast.All(v => v == 1f));
        Assert.AreEqual(CropWindow.Full(64, 64), draw.Crop);
    }

    [TestMethod]
    public void Zero_probabilities_leave_every_image_unchanged_except_flip()
    {
        var options = new AugmentOptions { PAffine = 0, PLighting = 0 };
        using var generator = new torch.Generator(10);
        var draw = AugmentationDraw.Sample(options, 500, 64, 64, generator);
        Assert.IsTrue(draw.RotationDegrees.All(v => v == 0f) && draw.Zoom.All(v => v == 1f));
        Assert.IsTrue(draw.WarpX.Concat(draw.WarpY).All(v => v == 0f));
        Assert.IsTrue(draw.Brightness.All(v => v == 0.5f) && draw.Contrast.All(v => v == 1f));
        Assert.AreEqual(0.5, Rate(draw.FlipSign, f => f == -1f), 0.07);
    }

    private static IEnumerable<float[]> Fields(AugmentationDraw d) =>
    [
        d.FlipSign, d.RotationDegrees, d.Zoom, d.ZoomCenterX, d.ZoomCenterY, d.WarpX, d.WarpY, d.Brightness, d.Contrast,
    ];
}
