using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PetsML.Trainers.Interop.Onnx;
using PetsML.Trainers.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

[TestClass]
public sealed class PackagedResNet18Tests
{
    private const int Size = 224;

    /// <summary>
    /// A deterministic 224x224 "photo": smooth colour gradients, a bright disc and pixel noise, 0..255 RGB, planar.
    /// </summary>
    private static float[] GeneratedImageRgb255(int seed)
    {
        var random = new Random(seed);
        var pixels = new float[3 * Size * Size];
        for (var y = 0; y < Size; y++)
        for (var x = 0; x < Size; x++)
        {
            var inDisc = (x - 140) * (x - 140) + (y - 90) * (y - 90) < 40 * 40;
            var r = inDisc ? 240 : 255.0 * x / Size;
            var g = inDisc ? 200 : 255.0 * y / Size;
            var b = inDisc ? 30 : 128 + 100 * Math.Sin(x * 0.1) * Math.Cos(y * 0.07);
            var rgb = new[] { r, g, b };
            for (var c = 0; c < 3; c++)
                pixels[c * Size * Size + y * Size + x] = (float)Math.Clamp(rgb[c] + random.Next(-20, 21), 0, 255);
        }
        return pixels;
    }

    [TestMethod]
    public void Packaged_body_features_match_onnx_runtime()
    {
        // ML.NET's preprocessing, with the per-channel mean: BGR order, 0..255 minus the ImageNet mean.
        var rgb = GeneratedImageRgb255(seed: 17);
        float[] meanBgr = [103.06f, 115.90f, 123.15f];
        var bgr = new float[rgb.Length];
        var plane = Size * Size;
        for (var c = 0; c < 3; c++)
        for (var i = 0; i < plane; i++)
            bgr[c * plane + i] = rgb[(2 - c) * plane + i] - meanBgr[c];

        float[] expected;
        using (var session = new InferenceSession(PackagedResNet18.OnnxPath))
        {
            var input = new DenseTensor<float>(bgr, [1, 3, Size, Size]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("Input247", input)], ["Pooling395_Output_0"]);
            expected = results.Single().AsTensor<float>().ToArray();
        }
        Assert.HasCount(512, expected);

        using var scope = torch.NewDisposeScope();
        using var body = ResNetBody.CreateForLoading(ResNetArchitecture.ResNet18Packaged);
        PackagedResNet18.LoadInto(body);
        body.eval();
        // conv1 was flipped to take RGB, so TorchSharp gets the same tensor with its channels reversed.
        var x = torch.tensor(bgr, [1, 3, Size, Size]).flip(1);
        torch.Tensor features;
        using (torch.no_grad())
            features = body.call(x).mean([2, 3]).flatten();
        var actual = torch.tensor(expected);
        Assert.IsGreaterThan(1f, actual.abs().max().item<float>(), "real features, not zeros");
        Assert.IsLessThan(1e-4f, ModelingAssert.MaxAbsDiff(actual, features));
    }

    [TestMethod]
    public void State_dict_is_derived_for_every_onnx_initializer_with_conv1_flipped_to_rgb()
    {
        using var scope = torch.NewDisposeScope();
        var stateDict = PackagedResNet18.LoadStateDict();
        using var generator = new Generator(1);
        using var body = ResNetBody.Create(ResNetArchitecture.ResNet18Packaged, generator);
        var expected = body.state_dict();
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), stateDict.Keys.ToList());
        foreach (var (name, tensor) in expected)
            CollectionAssert.AreEqual(tensor.shape, stateDict[name].shape, name);
        // 110 ONNX initializers: 22 convs + 22 BNs x 4, plus one counter per BN.
        Assert.HasCount(110 + 22, stateDict);
        Assert.AreEqual(15_897_152L, stateDict.Where(kv => !kv.Key.Contains("running") && !kv.Key.EndsWith("tracked")).Sum(kv => kv.Value.numel()));
        Assert.IsTrue(stateDict.Where(kv => kv.Key.EndsWith("num_batches_tracked")).All(kv => kv.Value.item<long>() == 0));
        Assert.IsTrue(stateDict.Where(kv => kv.Key.EndsWith("running_var")).All(kv => kv.Value.gt(0).all().item<bool>()));

        // The ONNX model is run on BGR input; the flipped conv1 must give on RGB what the original gives on BGR.
        using var generator2 = new Generator(2);
        var bgr = torch.randn([1, 3, 16, 16], generator: generator2);
        var rgbWeight = stateDict["conv1.weight"];
        var bgrWeight = rgbWeight.flip(1);
        var viaBgr = nn.functional.conv2d(bgr, bgrWeight, padding: [3, 3]);
        var viaRgb = nn.functional.conv2d(bgr.flip(1), rgbWeight, padding: [3, 3]);
        Assert.IsLessThan(1e-4f, ModelingAssert.MaxAbsDiff(viaBgr, viaRgb));
        Assert.IsFalse(ModelingAssert.Same(rgbWeight, bgrWeight));
    }

    [TestMethod]
    public void Pretrained_classifier_uses_the_packaged_body_and_other_bodies_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, 3, seed: 4, pretrained: true);
        var fromOnnx = PackagedResNet18.LoadStateDict();
        var sd = model.state_dict();
        foreach (var (name, tensor) in fromOnnx)
            Assert.IsTrue(ModelingAssert.Same(tensor, sd["body." + name]), name);

        // Same seed, same head whether or not the body is pretrained.
        using var random = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, 3, seed: 4, pretrained: false);
        Assert.IsTrue(ModelingAssert.Same(random.state_dict()["head.4.weight"], sd["head.4.weight"]));

        using var generator = new Generator(1);
        using var other = ResNetBody.Create(ResNetArchitecture.ResNet18, generator);
        var e = Assert.ThrowsExactly<ArgumentException>(() => PackagedResNet18.LoadInto(other));
        Assert.AreEqual("body", e.ParamName);
    }
}
