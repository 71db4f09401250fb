using PetsML.Trainers.Explaining;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Explaining;

/// <summary>
/// Grad-CAM where the right answer is known. Each 32-pixel image has a red (class 0) or green (class 1) square in one
/// quadrant, chosen at random, and a blue square that both classes share in another; the rest is grey noise. A small
/// convolutional network (two conv blocks, global average pooling, a linear layer) is trained here until it tells
/// the classes apart on images it has not seen; its heat map must then lie in the deciding quadrant, not on the
/// blue distractor, and equal the class activation map computed here in the test's own words.
/// </summary>
[TestClass]
public sealed class GradCamQuadrantTests
{
    const int Size = 32, Patch = 8;

    /// <summary>Images [n,3,32,32], labels [n], and the deciding quadrant of each (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).</summary>
    static (Tensor Images, Tensor Labels, int[] Quadrants) Data(int n, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[n * 3 * Size * Size];
        var labels = new long[n];
        var quadrants = new int[n];
        for (int i = 0; i < n; i++)
        {
            int offset = i * 3 * Size * Size;
            for (int j = 0; j < 3 * Size * Size; j++) pixels[offset + j] = 0.5f + 0.15f * (float)(random.NextDouble() - 0.5);
            labels[i] = random.Next(2);
            quadrants[i] = random.Next(4);
            int distractor = (quadrants[i] + 1 + random.Next(3)) % 4;
            Square(quadrants[i], labels[i] == 0 ? [1f, 0.1f, 0.1f] : [0.1f, 0.9f, 0.1f]);
            Square(distractor, [0.1f, 0.1f, 1f]);

            void Square(int quadrant, float[] rgb)
            {
                int x0 = (quadrant % 2) * Size / 2 + random.Next(Size / 2 - Patch + 1);
                int y0 = (quadrant / 2) * Size / 2 + random.Next(Size / 2 - Patch + 1);
                for (int c = 0; c < 3; c++)
                for (int y = y0; y < y0 + Patch; y++)
                for (int x = x0; x < x0 + Patch; x++)
                    pixels[offset + (c * Size + y) * Size + x] = rgb[c];
            }
        }
        return (tensor(pixels, [n, 3, Size, Size]).sub_(0.5f).mul_(4f), tensor(labels), quadrants);
    }

    static float ShareInQuadrant(float[] heat, int quadrant)
    {
        double inside = 0, total = 0;
        for (int y = 0; y < Size; y++)
        for (int x = 0; x < Size; x++)
        {
            float v = heat[y * Size + x];
            total += v;
            if ((x >= Size / 2 ? 1 : 0) + (y >= Size / 2 ? 2 : 0) == quadrant) inside += v;
        }
        return total > 0 ? (float)(inside / total) : 0f;
    }

    [TestMethod]
    public void The_heat_lies_in_the_deciding_quadrant_and_equals_the_class_activation_map()
    {
        torch.manual_seed(7);
        var body = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2));
        var pool = nn.AdaptiveAvgPool2d(1);
        var flatten = nn.Flatten();
        var linear = nn.Linear(16, 2);
        var head = nn.Sequential(pool, flatten, linear);
        using var model = nn.Sequential(body, head);
        var (trainImages, trainLabels, _) = Data(512, seed: 1);
        var (testImages, testLabels, testQuadrants) = Data(64, seed: 2);
        using (trainImages) using (trainLabels) using (testImages) using (testLabels)
        {
            using var optimizer = optim.Adam(model.parameters(), lr: 3e-3);
            model.train();
            for (int epoch = 0; epoch < 8; epoch++)
            for (int start = 0; start < 512; start += 32)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(trainImages.narrow(0, start, 32)), trainLabels.narrow(0, start, 32));
                loss.backward();
                optimizer.step();
            }
            model.eval();
            optimizer.zero_grad();

            double accuracy;
            using (var scope = NewDisposeScope())
            using (no_grad())
                accuracy = model.call(testImages).argmax(1).eq(testLabels).to(float32).mean().item<float>();
            Assert.IsGreaterThanOrEqualTo(0.95, accuracy, $"the network learned the task on unseen images (accuracy {accuracy:P0})");

            int peaksInside = 0;
            double shareSum = 0;
            for (int i = 0; i < 64; i++)
            {
                using var scope = NewDisposeScope();
                var image = testImages.narrow(0, i, 1);
                int label = (int)testLabels[i].item<long>();
                var result = GradCamComputation.Compute(body.call, head.call, image, label);
                Assert.AreEqual(label, result.ClassIndex);
                Assert.AreEqual(Size * Size, result.Heat.Length);
                Assert.IsTrue(result.Heat.All(v => v >= 0 && v <= 1), "values in [0, 1]");

                int peak = Array.IndexOf(result.Heat, result.Heat.Max());
                if ((peak % Size >= Size / 2 ? 1 : 0) + (peak / Size >= Size / 2 ? 2 : 0) == testQuadrants[i]) peaksInside++;
                shareSum += ShareInQuadrant(result.Heat, testQuadrants[i]);

                // The reference: with global average pooling and one linear layer, Grad-CAM is the class activation map
                // ReLU(Σ_c w[label, c] A_c) (the 1/(h·w) of the pooling cancels when the map is divided by its maximum).
                using (no_grad())
                {
                    var activations = body.call(image);
                    var weights = linear.weight![label].reshape(1, 16, 1, 1);
                    var cam = nn.functional.relu((activations * weights).sum(1, keepdim: true));
                    var up = nn.functional.interpolate(cam, [Size, Size], mode: InterpolationMode.Bilinear, align_corners: false);
                    var reference = up.div(up.max()).data<float>().ToArray();
                    var diff = reference.Zip(result.Heat, (a, b) => Math.Abs(a - b)).Max();
                    Assert.IsLessThan(1e-4, diff, $"image {i}: Grad-CAM equals the class activation map (max |Δ| {diff})");
                }
            }
            double meanShare = shareSum / 64;
            Console.WriteLine($"accuracy {accuracy:P1}, peaks in the deciding quadrant {peaksInside}/64, mean share there {meanShare:P1}");
            Assert.IsGreaterThanOrEqualTo(58, peaksInside, $"the peak lies in the deciding quadrant for {peaksInside} of 64 images");
            Assert.IsGreaterThan(0.6, meanShare, $"mean share of the heat in the deciding quadrant {meanShare:P0} (uniform: 25%)");
            Assert.IsTrue(model.parameters().All(p => p.grad is null || p.grad.abs().sum().item<float>() == 0), "Grad-CAM writes no parameter gradient");
        }
    }

    [TestMethod]
    public void A_class_index_outside_the_classes_is_refused_with_its_range()
    {
        using var body = nn.Conv2d(3, 4, 3, padding: 1);
        using var linear = nn.Linear(4, 2);
        using var head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear);
        using var image = zeros(1, 3, 8, 8);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => GradCamComputation.Compute(body.call, head.call, image, 2));
        StringAssert.Contains(e.Message, "[0, 1]");
    }
}
