using SkiaSharp;

namespace PetsML.Tests.Support;

/// <summary>Real images made inside the tests (SkiaSharp encoders), in the Oxford-IIIT Pet naming scheme.</summary>
public static class TestImages
{
    /// <summary>
    /// Three visually distinct classes: a big red disc, a green square, a blue triangle, on a noisy light
    /// background with random position and size. Capitalised and lowercase names, like cat and dog breeds.
    /// </summary>
    public static readonly string[] ShapeClasses = { "Red_disc", "green_square", "blue_triangle" };

    /// <summary>Writes <paramref name="perClass"/> JPEGs per class named like <c>Red_disc_12.jpg</c>; returns their paths.</summary>
    public static List<string> WriteShapeDataset(string folder, int perClass, int width = 96, int height = 80, int seed = 1)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var paths = new List<string>();
        for (int c = 0; c < ShapeClasses.Length; c++)
        for (int i = 1; i <= perClass; i++)
        {
            var path = Path.Combine(folder, $"{ShapeClasses[c]}_{i}.jpg");
            using var bitmap = DrawShape(c, width, height, random);
            Save(bitmap, path, SKEncodedImageFormat.Jpeg);
            paths.Add(path);
        }
        return paths;
    }

    public static SKBitmap DrawShape(int shapeClass, int width, int height, Random random)
    {
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(new SKColor((byte)random.Next(190, 256), (byte)random.Next(190, 256), (byte)random.Next(190, 256)));
        using var noise = new SKPaint { Color = new SKColor(0, 0, 0, 40) };
        for (int n = 0; n < width * height / 40; n++)
            canvas.DrawPoint(random.Next(width), random.Next(height), noise);
        float side = Math.Min(width, height) * (0.45f + 0.3f * (float)random.NextDouble());
        float cx = width / 2f + (float)(random.NextDouble() - 0.5) * (width - side) * 0.8f;
        float cy = height / 2f + (float)(random.NextDouble() - 0.5) * (height - side) * 0.8f;
        using var paint = new SKPaint { IsAntialias = true };
        switch (shapeClass)
        {
            case 0:
                paint.Color = new SKColor(220, 30, 30);
                canvas.DrawCircle(cx, cy, side / 2, paint);
                break;
            case 1:
                paint.Color = new SKColor(30, 170, 40);
                canvas.DrawRect(cx - side / 2, cy - side / 2, side, side, paint);
                break;
            default:
                paint.Color = new SKColor(30, 60, 220);
                using (var path = new SKPath())
                {
                    path.MoveTo(cx, cy - side / 2);
                    path.LineTo(cx + side / 2, cy + side / 2);
                    path.LineTo(cx - side / 2, cy + side / 2);
                    path.Close();
                    canvas.DrawPath(path, paint);
                }
                break;
        }
        return bitmap;
    }

    /// <summary>A smooth colour gradient with a marker, for geometry checks.</summary>
    public static SKBitmap Gradient(int width, int height)
    {
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            bitmap.SetPixel(x, y, new SKColor((byte)(255 * x / Math.Max(1, width - 1)), (byte)(255 * y / Math.Max(1, height - 1)), 128));
        return bitmap;
    }

    public static void Save(SKBitmap bitmap, string path, SKEncodedImageFormat format, int quality = 92)
    {
        using var data = bitmap.Encode(format, quality);
        using var stream = File.Create(path);
        data.SaveTo(stream);
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 92)
    {
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }
}
