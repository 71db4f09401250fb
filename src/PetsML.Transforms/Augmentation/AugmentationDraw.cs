using TorchSharp;

namespace PetsML.Transforms.Augmentation;

/// <summary>
/// Every random choice one training batch needs, in plain arrays so it can be inspected, logged or built
/// by hand: per image a flip, a rotation, a zoom with its centre, a perspective warp, a brightness and a
/// contrast; per batch one crop window. <see cref="BatchAugmenter.Training(torch.Tensor, AugmentationDraw)"/>
/// turns it into pixels.
/// </summary>
/// <remarks>
/// Arrays are indexed by image. "Not applied" is stored as the neutral value (flip 1, rotation 0, zoom 1,
/// warp 0, brightness 0.5, contrast 1), exactly as fastai replaces a masked draw. Use <see cref="Identity"/>
/// with a <c>with</c> expression to build a draw by hand. Record equality compares the arrays by reference.
/// </remarks>
internal sealed record AugmentationDraw
{
    /// <summary>Height in pixels of the source images the draw was made for (the crop window refers to it).</summary>
    public required int SourceHeight { get; init; }

    /// <summary>Width in pixels of the source images the draw was made for.</summary>
    public required int SourceWidth { get; init; }

    /// <summary>−1 mirrors the image left-right, 1 leaves it.</summary>
    public required float[] FlipSign { get; init; }

    /// <summary>Rotation angle θ in degrees (0 when not applied).</summary>
    public required float[] RotationDegrees { get; init; }

    /// <summary>Zoom factor z ≥ 1 magnifies (1 when not applied).</summary>
    public required float[] Zoom { get; init; }

    /// <summary>Horizontal zoom centre as a fraction in [0, 1] of the width (always drawn).</summary>
    public required float[] ZoomCenterX { get; init; }

    /// <summary>Vertical zoom centre as a fraction in [0, 1] of the height (always drawn).</summary>
    public required float[] ZoomCenterY { get; init; }

    /// <summary>Perspective warp x_t (0 when not applied).</summary>
    public required float[] WarpX { get; init; }

    /// <summary>Perspective warp y_t (0 when not applied).</summary>
    public required float[] WarpY { get; init; }

    /// <summary>Brightness b in (0, 1); 0.5 is neutral. Adds logit(b) in logit space.</summary>
    public required float[] Brightness { get; init; }

    /// <summary>Contrast c &gt; 0; 1 is neutral. Multiplies in logit space.</summary>
    public required float[] Contrast { get; init; }

    /// <summary>The crop window, one for the whole batch, in source pixels.</summary>
    public required CropWindow Crop { get; init; }

    /// <summary>Number of images the draw covers.</summary>
    public int Count => FlipSign.Length;

    /// <summary>
    /// A draw that changes nothing: no flip, rotation, zoom (centres 0.5), warp or lighting, and the whole
    /// image as crop window.
    /// </summary>
    public static AugmentationDraw Identity(int count, int sourceHeight, int sourceWidth)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), count, "A draw covers at least one image.");
        if (sourceHeight < 2 || sourceWidth < 2)
            throw new ArgumentException($"Source images must be at least 2×2 pixels; got {sourceHeight}×{sourceWidth}.");
        return new AugmentationDraw
        {
            SourceHeight = sourceHeight,
            SourceWidth = sourceWidth,
            FlipSign = Filled(count, 1f),
            RotationDegrees = Filled(count, 0f),
            Zoom = Filled(count, 1f),
            ZoomCenterX = Filled(count, 0.5f),
            ZoomCenterY = Filled(count, 0.5f),
            WarpX = Filled(count, 0f),
            WarpY = Filled(count, 0f),
            Brightness = Filled(count, 0.5f),
            Contrast = Filled(count, 1f),
            Crop = CropWindow.Full(sourceHeight, sourceWidth),
        };
    }

    /// <summary>
    /// Draws the random parameters for a batch of <paramref name="count"/> images of
    /// <paramref name="sourceHeight"/>×<paramref name="sourceWidth"/> pixels, with fastai's distributions
    /// (docs/fastai-semantics.md: "Affine matrices", "Perspective warp", "Crop window", "Lighting").
    /// </summary>
    /// <remarks>
    /// All randomness comes from <paramref name="generator"/> in two batched calls: one
    /// <c>torch.rand(count, 15)</c> for the per-image parameters and one <c>torch.rand(12)</c> for the crop
    /// (10 area attempts, then the top-left position), both in float64 so the rounding of the window side
    /// and position is not biased by float32 steps. The same generator state therefore gives the same draw.
    /// </remarks>
    public static AugmentationDraw Sample(
        AugmentOptions options, int count, int sourceHeight, int sourceWidth, torch.Generator generator)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(generator);
        options.Validate();
        var draw = Identity(count, sourceHeight, sourceWidth);

        double[] u;
        using (var t = torch.rand([count, UniformsPerImage], torch.float64, generator: generator))
            u = t.data<double>().ToArray();
        double[] cropUniforms;
        using (var t = torch.rand([CropAttempts + 2], torch.float64, generator: generator))
            cropUniforms = t.data<double>().ToArray();

        double rotation = options.MaxRotate, warp = options.MaxWarp, light = options.MaxLighting;
        double logContrast = Math.Log(1 - light);
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<double> r = u.AsSpan(i * UniformsPerImage, UniformsPerImage);
            draw.FlipSign[i] = options.DoFlip && r[0] < 0.5 ? -1f : 1f;
            draw.RotationDegrees[i] = r[2] < options.PAffine ? (float)(-rotation + 2 * rotation * r[1]) : 0f;
            draw.Zoom[i] = r[4] < options.PAffine
                ? (float)(options.MinZoom + (options.MaxZoom - options.MinZoom) * r[3]) : 1f;
            draw.ZoomCenterX[i] = (float)r[5];
            draw.ZoomCenterY[i] = (float)r[6];
            draw.WarpX[i] = r[8] < options.PAffine ? (float)(-warp + 2 * warp * r[7]) : 0f;
            draw.WarpY[i] = r[10] < options.PAffine ? (float)(-warp + 2 * warp * r[9]) : 0f;
            draw.Brightness[i] = r[12] < options.PLighting ? (float)(0.5 * (1 - light) + light * r[11]) : 0.5f;
            // c = exp(U(ln(1−L), −ln(1−L))): symmetric in log space, so c and 1/c are equally likely.
            draw.Contrast[i] = r[14] < options.PLighting ? (float)Math.Exp(logContrast - 2 * logContrast * r[13]) : 1f;
        }

        return draw with { Crop = SampleCrop(options.MinScale, sourceHeight, sourceWidth, cropUniforms) };
    }

    /// <summary>
    /// fastai's RandomResizedCropGPU window with ratio (1, 1): up to 10 attempts of a square with area
    /// U(minScale, 1)·h·w and side round(√area) (round half to even, as Python's round); the first that fits
    /// gets a uniform integer top-left; if none fits (only possible for non-square images), the centred
    /// square of side min(h, w).
    /// </summary>
    private static CropWindow SampleCrop(double minScale, int height, int width, double[] uniforms)
    {
        for (int attempt = 0; attempt < CropAttempts; attempt++)
        {
            double area = (minScale + (1 - minScale) * uniforms[attempt]) * height * width;
            int side = (int)Math.Round(Math.Sqrt(area), MidpointRounding.ToEven);
            if (side < 1 || side > height || side > width)
                continue;
            // U ∈ [0, 1) so floor(U·(n+1)) is a uniform integer in [0, n] (fastai's inclusive randint).
            int top = (int)Math.Floor(uniforms[CropAttempts] * (height - side + 1));
            int left = (int)Math.Floor(uniforms[CropAttempts + 1] * (width - side + 1));
            return new CropWindow(top, left, side, side);
        }
        return CropWindow.CenteredSquare(height, width);
    }

    /// <summary>Throws unless the draw matches a batch of <paramref name="count"/> images of the given size.</summary>
    internal void CheckMatches(int count, int height, int width)
    {
        if (SourceHeight != height || SourceWidth != width)
            throw new ArgumentException(
                $"The draw was made for {SourceHeight}×{SourceWidth} images but the batch is {height}×{width}.", "draw");
        foreach (var (name, values) in new (string, float[])[]
        {
            (nameof(FlipSign), FlipSign), (nameof(RotationDegrees), RotationDegrees), (nameof(Zoom), Zoom),
            (nameof(ZoomCenterX), ZoomCenterX), (nameof(ZoomCenterY), ZoomCenterY), (nameof(WarpX), WarpX),
            (nameof(WarpY), WarpY), (nameof(Brightness), Brightness), (nameof(Contrast), Contrast),
        })
        {
            if (values is null || values.Length != count)
                throw new ArgumentException($"draw.{name} must hold one value per image ({count}); got {values?.Length ?? 0}.", "draw");
            if (values.Any(v => !float.IsFinite(v)))
                throw new ArgumentException($"draw.{name} holds a non-finite value.", "draw");
        }
        if (Zoom.Any(z => z <= 0))
            throw new ArgumentException("draw.Zoom values must be positive.", "draw");
        if (Brightness.Any(b => b <= 0 || b >= 1))
            throw new ArgumentException("draw.Brightness values must be in (0, 1).", "draw");
        if (Contrast.Any(c => c <= 0))
            throw new ArgumentException("draw.Contrast values must be positive.", "draw");
        if (!Crop.FitsIn(height, width))
            throw new ArgumentException($"draw.Crop {Crop} does not lie inside a {height}×{width} image.", "draw");
    }

    private const int UniformsPerImage = 15;
    private const int CropAttempts = 10;

    private static float[] Filled(int count, float value)
    {
        var a = new float[count];
        Array.Fill(a, value);
        return a;
    }
}
