using PetsML.Transforms.Augmentation;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace PetsML.Tests.Transforms.Augmentation;

[TestClass]
public sealed class BatchAugmenterTests
{
    private static readonly NormalizationStats ImageNet = NormalizationStats.ImageNet;

    /// <summary>Random uint8 images from a seeded generator.</summary>
    private static Tensor RandomImages(int n, int height, int width, ulong seed)
    {
        using var generator = new Generator(seed);
        return randint(0, 256, [n, 3, height, width], ScalarType.Byte, generator: generator);
    }

    /// <summary>Dark images with a bright square marker at rows/columns [top, top+side) × [left, left+side).</summary>
    private static Tensor MarkerImages(int n, int size, int top, int left, int side)
    {
        var images = full([n, 3, size, size], 20, ScalarType.Byte);
        images[.., .., top..(top + side), left..(left + side)] = tensor((byte)240);
        return images;
    }

    /// <summary>Column and row centroid of the bright pixels (channel 0, denormalised value &gt; 0.5) of image i.</summary>
    private static (double Row, double Column) MarkerCentroid(Tensor normalised, int i)
    {
        using var scope = NewDisposeScope();
        var channel = normalised[i, 0] * ImageNet.Std[0] + ImageNet.Mean[0];
        var mask = (channel > 0.5f).to_type(float32);
        double count = mask.sum().item<float>();
        Assert.IsTrue(count > 0, "marker visible");
        int h = (int)mask.shape[0], w = (int)mask.shape[1];
        double row = (mask * arange(h, dtype: float32).view(h, 1)).sum().item<float>() / count;
        double column = (mask * arange(w, dtype: float32).view(1, w)).sum().item<float>() / count;
        return (row, column);
    }

    private static Tensor Normalized(Tensor zeroToOne)
    {
        var mean = tensor(ImageNet.Mean, [1, 3, 1, 1]);
        var std = tensor(ImageNet.Std, [1, 3, 1, 1]);
        return (zeroToOne - mean) / std;
    }

    private static float MaxAbsDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [TestMethod]
    public void Training_output_is_float32_N_by_3_by_Size_by_Size()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions());
        var images = RandomImages(3, 460, 460, seed: 1);
        using var generator = new Generator(1);
        var output = augmenter.Training(images, generator);
        CollectionAssert.AreEqual(new long[] { 3, 3, 224, 224 }, output.shape);
        Assert.AreEqual(ScalarType.Float32, output.dtype);
        Assert.AreEqual(DeviceType.CPU, output.device.type);
        Assert.IsFalse(output.isnan().any().item<bool>());
        // Normalised [0, 1] data stays within [(0 − mean)/std, (1 − mean)/std].
        Assert.IsTrue(output.min().item<float>() >= (0 - 0.485f) / 0.229f - 1e-4f);
        Assert.IsTrue(output.max().item<float>() <= (1 - 0.406f) / 0.225f + 1e-4f);
    }

    [TestMethod]
    public void A_batch_of_one_works_and_non_square_sources_are_accepted()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 32 });
        using var generator = new Generator(2);
        var single = augmenter.Training(RandomImages(1, 80, 120, seed: 2), generator);
        CollectionAssert.AreEqual(new long[] { 1, 3, 32, 32 }, single.shape);
        var valid = augmenter.Validation(RandomImages(1, 80, 120, seed: 3));
        CollectionAssert.AreEqual(new long[] { 1, 3, 32, 32 }, valid.shape);
    }

    [TestMethod]
    public void Mid_grey_normalises_to_half_minus_mean_over_std()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 64 });
        var grey = full([2, 3, 150, 150], 0.5f);
        var draw = AugmentationDraw.Identity(2, 150, 150) with { FlipSign = [-1f, 1f], RotationDegrees = [7f, -3f] };
        foreach (var output in new[] { augmenter.Validation(grey), augmenter.Training(grey, draw) })
            for (int c = 0; c < 3; c++)
            {
                float expected = (0.5f - ImageNet.Mean[c]) / ImageNet.Std[c];
                Assert.AreEqual(expected, output[.., c].min().item<float>(), 1e-5f);
                Assert.AreEqual(expected, output[.., c].max().item<float>(), 1e-5f);
            }
        // uint8 input is divided by 255 first.
        var bytes = full([1, 3, 20, 20], 128, ScalarType.Byte);
        var fromBytes = augmenter.Validation(bytes);
        Assert.AreEqual((128f / 255f - ImageNet.Mean[1]) / ImageNet.Std[1], fromBytes[0, 1, 5, 5].item<float>(), 1e-5f);
    }

    [TestMethod]
    public void Validation_equals_area_downscale_then_bilinear_resize()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions());
        var images = RandomImages(2, 460, 460, seed: 4);
        var actual = augmenter.Validation(images);

        // fastai's validation path, computed independently: 460 → 448 by area, then bilinear to 224.
        var x = images.to_type(float32) / 255f;
        var area = F.interpolate(x, [448, 448], mode: InterpolationMode.Area);
        var resized = F.interpolate(area, [224, 224], mode: InterpolationMode.Bilinear, align_corners: true);
        var expected = Normalized(resized);
        // float32 grid coordinates are off by ~3e-5 px at 448 px; on noise (slopes up to 255 levels/px)
        // that is ~0.01 level, i.e. ~2e-4 after dividing by std. A wrong path differs by > 0.05.
        Assert.IsTrue(MaxAbsDiff(actual, expected) < 5e-4f, $"max diff {MaxAbsDiff(actual, expected)}");

        // The area step matters: without it the result differs.
        var direct = Normalized(F.interpolate(x, [224, 224], mode: InterpolationMode.Bilinear, align_corners: true));
        Assert.IsTrue(MaxAbsDiff(actual, direct) > 0.05f);
    }

    [TestMethod]
    public void Validation_without_pre_downscale_is_plain_bilinear_and_deterministic()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 100 });
        var images = RandomImages(2, 180, 180, seed: 5); // 180 ≤ 2·100: no area step
        var first = augmenter.Validation(images);
        var second = augmenter.Validation(images);
        Assert.AreEqual(0f, MaxAbsDiff(first, second));
        var expected = Normalized(F.interpolate(images.to_type(float32) / 255f, [100, 100],
            mode: InterpolationMode.Bilinear, align_corners: true));
        Assert.IsTrue(MaxAbsDiff(first, expected) < 1e-4f);
    }

    [TestMethod]
    public void Identity_draw_reproduces_validation()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions());
        var images = RandomImages(2, 460, 460, seed: 6);
        var training = augmenter.Training(images, AugmentationDraw.Identity(2, 460, 460));
        Assert.IsTrue(MaxAbsDiff(training, augmenter.Validation(images)) < 5e-4f);
    }

    [TestMethod]
    public void Training_resamples_twice_as_fastai_the_affine_at_source_size_then_the_window_as_validation()
    {
        // fastai's order, computed independently: rotate at the source size (bilinear, reflection, align_corners),
        // cut the crop window out of that intermediate, resize it to Size (161 ≤ 2·100: no area step). One composed
        // resample reads the same source positions but blurs once instead of twice: on noise it differs by > 0.1.
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 100 });
        var images = RandomImages(2, 201, 201, seed: 7);
        float[] degrees = [20f, -7f];
        var draw = AugmentationDraw.Identity(2, 201, 201) with { RotationDegrees = degrees, Crop = new CropWindow(20, 30, 161, 161) };
        var actual = augmenter.Training(images, draw);

        var theta = degrees.SelectMany(d =>
        {
            double r = d * Math.PI / 180;
            return new[] { (float)Math.Cos(r), (float)Math.Sin(r), 0f, (float)-Math.Sin(r), (float)Math.Cos(r), 0f };
        }).ToArray();
        var grid = F.affine_grid(tensor(theta, [2, 2, 3]), [2, 3, 201, 201], align_corners: true);
        var intermediate = F.grid_sample(images.to_type(float32) / 255f, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection,
            align_corners: true);
        var window = intermediate[.., .., 20..181, 30..191];
        var expected = Normalized(F.interpolate(window, [100, 100], mode: InterpolationMode.Bilinear, align_corners: true));
        Assert.IsTrue(MaxAbsDiff(actual, expected) < 1e-3f, $"max diff {MaxAbsDiff(actual, expected)}");
    }

    [TestMethod]
    public void A_uint8_batch_larger_than_a_chunk_equals_each_image_augmented_alone()
    {
        // uint8 batches are converted and resampled a few images at a time; every image must come out as it does
        // alone, with its own draw (up to float rounding), including a crop wide enough for the area pre-downscale.
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 32 });
        int n = BatchAugmenter.ChunkImages * 2 + 3;
        var images = RandomImages(n, 70, 70, seed: 11);
        using var generator = new Generator(5);
        var draw = AugmentationDraw.Sample(augmenter.Options, n, 70, 70, generator) with { Crop = new CropWindow(0, 0, 70, 70) };
        var batch = augmenter.Training(images, draw);
        for (int i = 0; i < n; i++)
        {
            float[] One(float[] values) => [values[i]];
            var own = draw with
            {
                FlipSign = One(draw.FlipSign), RotationDegrees = One(draw.RotationDegrees), Zoom = One(draw.Zoom),
                ZoomCenterX = One(draw.ZoomCenterX), ZoomCenterY = One(draw.ZoomCenterY), WarpX = One(draw.WarpX),
                WarpY = One(draw.WarpY), Brightness = One(draw.Brightness), Contrast = One(draw.Contrast),
            };
            var alone = augmenter.Training(images.narrow(0, i, 1), own);
            float diff = MaxAbsDiff(batch.narrow(0, i, 1), alone);
            Assert.IsTrue(diff < 1e-5f, $"image {i}: differs by {diff} (float rounding of a batched grid is about 1e-6)");
        }
    }

    [TestMethod]
    public void Same_seed_gives_identical_output_and_another_seed_a_different_one()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 64 });
        var images = RandomImages(4, 140, 140, seed: 7);
        Tensor Run(ulong seed)
        {
            using var generator = new Generator(seed);
            return augmenter.Training(images, generator);
        }
        Assert.AreEqual(0f, MaxAbsDiff(Run(42), Run(42)));
        Assert.IsTrue(MaxAbsDiff(Run(42), Run(43)) > 0.1f);
    }

    [TestMethod]
    public void Flip_moves_a_left_marker_to_the_right_half()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions());
        var images = MarkerImages(2, 460, top: 200, left: 60, side: 60);
        var draw = AugmentationDraw.Identity(2, 460, 460) with { FlipSign = [-1f, 1f] };
        var output = augmenter.Training(images, draw);
        var flipped = MarkerCentroid(output, 0);
        var kept = MarkerCentroid(output, 1);
        Assert.IsTrue(flipped.Column > 112, $"flipped marker at column {flipped.Column:F1}");
        Assert.IsTrue(kept.Column < 112, $"unflipped marker at column {kept.Column:F1}");
        // Exact mirror: the marker's centre column 89.5 of 460 maps to (459 − 89.5)·223/459 in the output.
        Assert.AreEqual((459 - 89.5) * 223 / 459, flipped.Column, 0.6);
        Assert.AreEqual(89.5 * 223 / 459, kept.Column, 0.6);
        Assert.AreEqual(kept.Row, flipped.Row, 0.01);
    }

    [TestMethod]
    public void Crop_window_selects_the_region_it_names()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions());
        // Marker centre at (row 124.5, column 74.5); window rows/columns [50, 274) → output pixel = source − 50.
        var images = MarkerImages(1, 460, top: 100, left: 50, side: 50);
        var draw = AugmentationDraw.Identity(1, 460, 460) with { Crop = new CropWindow(50, 50, 224, 224) };
        var (row, column) = MarkerCentroid(augmenter.Training(images, draw), 0);
        Assert.AreEqual(124.5 - 50, row, 0.3);
        Assert.AreEqual(74.5 - 50, column, 0.3);
    }

    [TestMethod]
    public void Rotation_turns_a_marker_about_the_centre_in_the_direction_of_the_matrix()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 201 });
        // Marker right of centre; rotation by θ maps output (x, y) to source (x cos θ + y sin θ, −x sin θ + y cos θ).
        var images = MarkerImages(1, 201, top: 95, left: 150, side: 11);
        var draw = AugmentationDraw.Identity(1, 201, 201) with { RotationDegrees = [30f] };
        var (row, column) = MarkerCentroid(augmenter.Training(images, draw), 0);
        // Source marker centre in normalised coords: x = 55/100, y = 0. The output point whose source it is:
        // inverse rotation, (x cos θ, x sin θ).
        double theta = Math.PI / 6, xs = 0.55;
        Assert.AreEqual(100 + 100 * xs * Math.Cos(theta), column, 1.0);
        Assert.AreEqual(100 + 100 * xs * Math.Sin(theta), row, 1.0);
    }

    [TestMethod]
    public void Zoom_enlarges_the_marker()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 200 });
        var images = MarkerImages(2, 200, top: 80, left: 80, side: 40);
        var draw = AugmentationDraw.Identity(2, 200, 200) with { Zoom = [1f, 1.1f] };
        var output = augmenter.Training(images, draw);
        float Area(int i) => ((output[i, 0] * ImageNet.Std[0] + ImageNet.Mean[0]) > 0.5f).sum().item<long>();
        Assert.AreEqual(1.21, Area(1) / (double)Area(0), 0.08, "area grows by z²");
    }

    [TestMethod]
    public void Lighting_follows_the_logit_formula_and_is_the_identity_at_b_half_c_one()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 48 });
        var images = RandomImages(3, 48, 48, seed: 8);
        var plain = augmenter.Validation(images);
        var draw = AugmentationDraw.Identity(3, 48, 48) with { Brightness = [0.5f, 0.6f, 0.42f], Contrast = [1f, 1.25f, 0.8f] };
        var lit = augmenter.Training(images, draw);

        var mean = tensor(ImageNet.Mean, [1, 3, 1, 1]);
        var std = tensor(ImageNet.Std, [1, 3, 1, 1]);
        var x = (plain * std + mean).clamp(1e-7, 1 - 1e-7);
        for (int i = 0; i < 3; i++)
        {
            double b = draw.Brightness[i], c = draw.Contrast[i];
            var expected = ((x[i].log() - (1 - x[i]).log() + Math.Log(b / (1 - b))) * c).sigmoid();
            var actual = lit[i] * std[0] + mean[0];
            Assert.IsTrue(MaxAbsDiff(actual, expected) < 1e-5f, $"image {i}: {MaxAbsDiff(actual, expected)}");
        }
        Assert.IsTrue(MaxAbsDiff(lit[0], plain[0]) < 1e-5f, "b = 0.5, c = 1 leaves the image unchanged");
        Assert.IsTrue(MaxAbsDiff(lit[1], plain[1]) > 0.1f);
    }

    [TestMethod]
    public void Warp_reads_the_source_centre_at_the_crossing_of_the_target_diagonals()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 101 });
        var images = RandomImages(1, 101, 101, seed: 9);
        var plain = augmenter.Validation(images);
        var warped = augmenter.Training(images, AugmentationDraw.Identity(1, 101, 101) with { WarpX = [0.2f], WarpY = [-0.2f] });
        Assert.IsTrue(MaxAbsDiff(plain, warped) > 0.5f);
        // The target quadrilateral's diagonals cross at (x_t, y_t); the homography sends that point to the
        // crossing of the source square's diagonals, (0, 0). Output pixel (x 0.2, y −0.2) = column 60, row 40.
        Assert.IsTrue(MaxAbsDiff(plain[.., .., 50, 50], warped[.., .., 40, 60]) < 1e-4f);
        // Corners stay put up to the warp: output corner (−1, −1) reads target corner (−1−y_t, −1−x_t) mapped
        // to the source corner, i.e. the corner pixel is not the same as without warp.
        Assert.IsTrue(MaxAbsDiff(plain[.., .., 50, 50], warped[.., .., 50, 50]) > 1e-3f);
    }

    [TestMethod]
    public void Draws_that_do_not_match_the_batch_are_refused()
    {
        using var scope = NewDisposeScope();
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 16 });
        var images = RandomImages(2, 40, 40, seed: 10);
        Assert.ThrowsExactly<ArgumentException>(() => augmenter.Training(images, AugmentationDraw.Identity(3, 40, 40)));
        Assert.ThrowsExactly<ArgumentException>(() => augmenter.Training(images, AugmentationDraw.Identity(2, 40, 41)));
        Assert.ThrowsExactly<ArgumentException>(() =>
            augmenter.Training(images, AugmentationDraw.Identity(2, 40, 40) with { Crop = new CropWindow(10, 10, 31, 31) }));
        Assert.ThrowsExactly<ArgumentException>(() => augmenter.Validation(zeros(2, 1, 40, 40)));
        Assert.ThrowsExactly<ArgumentException>(() => augmenter.Validation(zeros([2, 3, 40, 40], ScalarType.Int32)));
    }

    [TestMethod]
    public void Calls_leave_no_tensor_alive_except_the_result()
    {
        using var augmenter = new BatchAugmenter(new AugmentOptions { Size = 32 });
        using var images = RandomImages(2, 70, 70, seed: 11);
        using var generator = new Generator(12);
        using (augmenter.Training(images, generator)) { } // warm-up: first calls may cache
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var training = augmenter.Training(images, generator))
        using (var validation = augmenter.Validation(images))
            Assert.AreEqual(before + 2, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.AreEqual(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [TestMethod]
    public void The_float_buffer_is_reused_across_batches_of_different_sizes_and_released_on_dispose()
    {
        using var scope = NewDisposeScope();
        var augmenter = new BatchAugmenter(new AugmentOptions { Size = 24 });
        var small = RandomImages(2, 50, 50, seed: 13);
        var large = RandomImages(3, 60, 60, seed: 14);
        var first = augmenter.Validation(small);
        augmenter.Validation(large);
        Assert.AreEqual(0f, MaxAbsDiff(first, augmenter.Validation(small)), "a shape change reallocates correctly");
        augmenter.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => augmenter.Validation(small));
    }
}
