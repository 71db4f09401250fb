using SkiaSharp;

namespace PetsML.Host.Demo;

/// <summary>
/// The drawn demo set (<c>--data demo:drawn</c>): generated cartoon animals of three "breeds" in the Oxford-IIIT
/// Pet naming scheme (<c>Bombay_12.jpg</c>, <c>Siamese_3.jpg</c>, <c>samoyed_40.jpg</c>), made deterministically on
/// first use and cached. Too easy to teach anything (it reaches error 0 in one epoch), but it needs no photos:
/// a quick check that the program runs. The default demo is <see cref="DemoPhotos"/>.
/// </summary>
public static class DemoDataSet
{
    /// <summary>Bump when the drawing changes, so an old cache is not reused.</summary>
    const string Version = "v1";
    const string CompleteMarker = ".complete";

    public static readonly string[] Breeds = { "Bombay", "Siamese", "samoyed" };

    /// <summary>Images per breed. Default 40 (120 images: 96 training, 24 validation with the default split).</summary>
    public const int ImagesPerBreed = 40;

    /// <summary>The cache folder: $PETSML_HOME/demo-pets-v1, else ~/.cache/petsml/demo-pets-v1.</summary>
    public static string DefaultFolder
    {
        get
        {
            var home = Environment.GetEnvironmentVariable("PETSML_HOME");
            if (string.IsNullOrWhiteSpace(home))
            {
                var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                if (string.IsNullOrWhiteSpace(cache))
                    cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
                home = Path.Combine(cache, "petsml");
            }
            return Path.Combine(home, $"demo-pets-{Version}");
        }
    }

    /// <summary>Makes the data set in <paramref name="folder"/> unless it is already complete; returns the folder.</summary>
    public static string Ensure(string? folder = null, int imagesPerBreed = ImagesPerBreed)
    {
        folder ??= DefaultFolder;
        if (File.Exists(Path.Combine(folder, CompleteMarker))) return folder;
        Directory.CreateDirectory(folder);
        for (int b = 0; b < Breeds.Length; b++)
        for (int i = 1; i <= imagesPerBreed; i++)
        {
            var random = new Random(1000 * b + i); // each image depends only on its breed and number
            using var bitmap = Draw(b, random);
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 88);
            var path = Path.Combine(folder, $"{Breeds[b]}_{i}.jpg");
            using var stream = File.Create(path);
            data.SaveTo(stream);
        }
        File.WriteAllText(Path.Combine(folder, CompleteMarker), $"{Breeds.Length * imagesPerBreed} images\n");
        return folder;
    }

    static SKBitmap Draw(int breed, Random random)
    {
        int width = random.Next(260, 420), height = random.Next(220, 360);
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        DrawBackground(canvas, width, height, random);

        float scale = Math.Min(width, height) * (0.28f + 0.12f * (float)random.NextDouble());
        float cx = width * (0.35f + 0.3f * (float)random.NextDouble());
        float cy = height * (0.45f + 0.2f * (float)random.NextDouble());
        canvas.Save();
        canvas.RotateDegrees((float)(random.NextDouble() * 30 - 15), cx, cy);
        bool facingLeft = random.Next(2) == 0;
        var (body, points) = breed switch
        {
            0 => (Jitter(new SKColor(28, 26, 30), random, 12), Jitter(new SKColor(18, 16, 20), random, 8)),      // Bombay: black
            1 => (Jitter(new SKColor(232, 214, 180), random, 14), Jitter(new SKColor(80, 52, 40), random, 12)),  // Siamese: cream, dark points
            _ => (Jitter(new SKColor(246, 246, 242), random, 6), Jitter(new SKColor(236, 236, 230), random, 6)), // samoyed: white
        };
        DrawAnimal(canvas, cx, cy, scale, body, points, fluffy: breed == 2, facingLeft, random);
        canvas.Restore();
        AddGrain(bitmap, random, 10);
        return bitmap;
    }

    static void DrawBackground(SKCanvas canvas, int width, int height, Random random)
    {
        var palettes = new[]
        {
            (new SKColor(96, 140, 70), new SKColor(150, 180, 100)),   // grass
            (new SKColor(190, 170, 140), new SKColor(120, 100, 80)),  // floor
            (new SKColor(170, 190, 210), new SKColor(90, 110, 140)),  // sofa / sky
            (new SKColor(200, 120, 90), new SKColor(140, 80, 60)),    // rug
        };
        var (top, bottom) = palettes[random.Next(palettes.Length)];
        using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, height),
            new[] { Jitter(top, random, 20), Jitter(bottom, random, 20) }, SKShaderTileMode.Clamp);
        using var paint = new SKPaint { Shader = shader };
        canvas.DrawRect(0, 0, width, height, paint);
        using var blob = new SKPaint { IsAntialias = true };
        for (int i = 0; i < 12; i++)
        {
            blob.Color = Jitter(bottom, random, 40).WithAlpha((byte)random.Next(30, 90));
            canvas.DrawCircle(random.Next(width), random.Next(height), random.Next(10, 60), blob);
        }
    }

    static void DrawAnimal(SKCanvas canvas, float cx, float cy, float s, SKColor body, SKColor points, bool fluffy, bool facingLeft, Random random)
    {
        float dir = facingLeft ? -1 : 1;
        using var fur = new SKPaint { IsAntialias = true, Color = body };
        using var dark = new SKPaint { IsAntialias = true, Color = points };
        // Tail, body, legs
        using (var tail = new SKPaint { IsAntialias = true, Color = points, Style = SKPaintStyle.Stroke, StrokeWidth = s * 0.12f, StrokeCap = SKStrokeCap.Round })
        using (var path = new SKPath())
        {
            path.MoveTo(cx - dir * s * 0.9f, cy);
            path.QuadTo(cx - dir * s * 1.5f, cy - s * 0.2f, cx - dir * s * 1.3f, cy - s * 0.8f);
            canvas.DrawPath(path, tail);
        }
        canvas.DrawOval(cx, cy, s, s * 0.55f, fur);
        for (int leg = 0; leg < 4; leg++)
            canvas.DrawRoundRect(cx - s * 0.75f + leg * s * 0.45f, cy + s * 0.2f, s * 0.18f, s * 0.6f, s * 0.08f, s * 0.08f, leg % 2 == 0 ? dark : fur);
        // Head, ears, face
        float hx = cx + dir * s * 0.95f, hy = cy - s * 0.45f, r = s * 0.42f;
        foreach (var side in new[] { -1f, 1f })
        using (var ear = new SKPath())
        {
            ear.MoveTo(hx + side * r * 0.2f, hy - r * 0.6f);
            ear.LineTo(hx + side * r * 0.9f, hy - r * 1.45f);
            ear.LineTo(hx + side * r * 0.95f, hy - r * 0.2f);
            ear.Close();
            canvas.DrawPath(ear, dark);
        }
        canvas.DrawCircle(hx, hy, r, fur);
        canvas.DrawOval(hx + dir * r * 0.25f, hy + r * 0.25f, r * 0.55f, r * 0.45f, dark);
        using var eye = new SKPaint { IsAntialias = true, Color = new SKColor(70, 140, 200) };
        canvas.DrawCircle(hx - r * 0.3f, hy - r * 0.15f, r * 0.1f, eye);
        canvas.DrawCircle(hx + r * 0.3f, hy - r * 0.15f, r * 0.1f, eye);
        if (fluffy)
        {
            using var puff = new SKPaint { IsAntialias = true, Color = body.WithAlpha(200) };
            for (int i = 0; i < 70; i++)
            {
                double a = random.NextDouble() * Math.PI * 2;
                canvas.DrawCircle(cx + (float)Math.Cos(a) * s * 1.02f, cy + (float)Math.Sin(a) * s * 0.56f, s * (0.08f + 0.08f * (float)random.NextDouble()), puff);
            }
        }
    }

    static void AddGrain(SKBitmap bitmap, Random random, int amount)
    {
        var pixels = bitmap.Pixels;
        for (int i = 0; i < pixels.Length; i++)
        {
            int n = random.Next(-amount, amount + 1);
            var p = pixels[i];
            pixels[i] = new SKColor(Clamp(p.Red + n), Clamp(p.Green + n), Clamp(p.Blue + n), 255);
        }
        bitmap.Pixels = pixels;
    }

    static SKColor Jitter(SKColor c, Random random, int amount)
        => new(Clamp(c.Red + random.Next(-amount, amount + 1)), Clamp(c.Green + random.Next(-amount, amount + 1)), Clamp(c.Blue + random.Next(-amount, amount + 1)));

    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);
}
