using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PetsML.Tests.Support;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms.Augmentation;
using SkiaSharp;
using TorchSharp;

namespace PetsML.Tests.Onnx.Export;

/// <summary>Test-made uint8 images and the two ways of scoring them: PetsML's own forward and ONNX Runtime on the exported file.</summary>
internal static class ExportTestKit
{
    /// <summary><paramref name="count"/> shape pictures of side <paramref name="size"/>, planar RGB bytes [count, 3, size, size].</summary>
    public static byte[] MakeImages(int count, int size, int seed)
    {
        var random = new Random(seed);
        var plane = size * size;
        var pixels = new byte[count * 3 * plane];
        for (int n = 0; n < count; n++)
        {
            using var bitmap = TestImages.DrawShape(n % TestImages.ShapeClasses.Length, size, size, random);
            CopyPlanar(bitmap, pixels.AsSpan(n * 3 * plane, 3 * plane));
        }
        return pixels;
    }

    public static void CopyPlanar(SKBitmap bitmap, Span<byte> destination)
    {
        int plane = bitmap.Width * bitmap.Height;
        for (int y = 0; y < bitmap.Height; y++)
        for (int x = 0; x < bitmap.Width; x++)
        {
            var color = bitmap.GetPixel(x, y);
            int i = y * bitmap.Width + x;
            destination[i] = color.Red;
            destination[plane + i] = color.Green;
            destination[2 * plane + i] = color.Blue;
        }
    }

    /// <summary>PetsML's prediction: (p/255 − mean)/std, then the classifier's forward and softmax (fp32).</summary>
    public static float[][] PetsProbabilities(ImageClassifierTransformer classifier, byte[] pixels, int count, int size, NormalizationStats stats)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(pixels, [count, 3, size, size], dtype: torch.uint8).to(torch.float32).div(255);
        var mean = torch.tensor(stats.Mean, [1, 3, 1, 1]);
        var std = torch.tensor(stats.Std, [1, 3, 1, 1]);
        return classifier.PredictProbabilities(x.sub(mean).div(std));
    }

    /// <summary>ONNX Runtime on the exported file; NHWC input is transposed from the planar pixels here.</summary>
    public static float[][] OnnxProbabilities(string onnxPath, byte[] pixels, int count, int size, bool nhwc = false, string input = "image")
        => OnnxOutput(onnxPath, "probabilities", pixels, count, size, nhwc, input);

    /// <summary>One output of the exported file, row by row ([N, k] as N rows of k).</summary>
    public static float[][] OnnxOutput(string onnxPath, string outputName, byte[] pixels, int count, int size, bool nhwc = false, string input = "image")
    {
        using var session = new InferenceSession(onnxPath);
        var feed = nhwc ? ToNhwc(pixels, count, size) : pixels;
        int[] dims = nhwc ? [count, size, size, 3] : [count, 3, size, size];
        var tensor = new DenseTensor<byte>(feed, dims);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)], [outputName]);
        var output = results.Single().AsTensor<float>();
        int k = output.Dimensions[1];
        var flat = output.ToArray();
        return Enumerable.Range(0, count).Select(i => flat.AsSpan(i * k, k).ToArray()).ToArray();
    }

    private static byte[] ToNhwc(byte[] chw, int count, int size)
    {
        int plane = size * size;
        var result = new byte[chw.Length];
        for (int n = 0; n < count; n++)
        for (int c = 0; c < 3; c++)
        for (int i = 0; i < plane; i++)
            result[n * 3 * plane + i * 3 + c] = chw[n * 3 * plane + c * plane + i];
        return result;
    }

    public static double MaxAbsDifference(float[][] a, float[][] b)
    {
        Assert.HasCount(a.Length, b);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.HasCount(a[i].Length, b[i]);
            for (int j = 0; j < a[i].Length; j++) max = Math.Max(max, Math.Abs(a[i][j] - b[i][j]));
        }
        return max;
    }

    /// <summary>Fails when the probabilities are degenerate (every row one-hot or every row the same), which would hide export errors.</summary>
    public static void AssertInformative(float[][] probabilities)
    {
        Assert.IsTrue(probabilities.SelectMany(p => p).Any(v => v > 0.01 && v < 0.99), "some probability is neither ~0 nor ~1");
        double spread = 0;
        for (int j = 0; j < probabilities[0].Length; j++)
        {
            var column = probabilities.Select(p => (double)p[j]).ToArray();
            spread = Math.Max(spread, column.Max() - column.Min());
        }
        Assert.IsTrue(spread > 1e-3, $"the probabilities vary across images (spread {spread})");
    }
}
