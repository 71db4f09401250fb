using Microsoft.ML.OnnxRuntime;
using PetsML.Tests.Support;
using PetsML.Onnx.Export;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Tests.Onnx.Export;

/// <summary>The exported ONNX file computes what PetsML computes, for the packaged ResNet-18 and a random ResNet-34.</summary>
[TestClass]
public sealed class OnnxExportTests
{
    private const int Images = 16;
    private const double Tolerance = 1e-4;
    private static readonly string[] Classes = ["Abyssinian", "beagle", "Bengal"];

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Packaged_resnet18_export_gives_PetsML_probabilities_in_onnx_runtime()
    {
        const int size = 224;
        using var folder = new TempFolder("petsml-onnx");
        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, Classes.Length, seed: 3, pretrained: true);
        // As the trainer does for ImageNet-normalised data: the fixed map into the packaged body's statistics.
        var data = NormalizationStats.ImageNet;
        var (scale, shift) = ImageClassifier.RenormalizationFor(data.Mean, data.Std, model.ModelStatistics.Mean, model.ModelStatistics.Std);
        model.SetInputRenormalization(scale, shift);
        PerturbHeadNorms(model, seed: 11);
        using var classifier = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet18Packaged, Classes, "Features", size, "cpu", history: null, ownsModel: false);

        var result = OnnxExporter.Export(classifier, OnnxPreprocessing.Default, folder.Combine("resnet18.onnx"));
        var pixels = ExportTestKit.MakeImages(Images, size, seed: 21);
        var expected = ExportTestKit.PetsProbabilities(classifier, pixels, Images, size, data);
        var actual = ExportTestKit.OnnxProbabilities(result.Path, pixels, Images, size);

        ExportTestKit.AssertInformative(expected);
        var difference = ExportTestKit.MaxAbsDifference(expected, actual);
        TestContext.WriteLine($"resnet18 (packaged): {result.Bytes} bytes ({result.Bytes / 1e6:0.0} MB), max |Δp| = {difference:E2}");
        Assert.IsLessThanOrEqualTo(Tolerance, difference, $"max |p_onnx - p_petsml| = {difference}");
        var warnings = FreshProcess.OnnxSessionWarnings(result.Path);
        Assert.AreEqual("", warnings.Trim(), "ONNX Runtime opens and runs the exported ResNet-18 without warnings");

        // fp32 raw weights: the file is the folded weights (conv + their BN-derived biases + linears) plus a small graph.
        long folded = model.named_parameters().Where(p => !IsNorm(p.name)).Sum(p => p.parameter.numel())
            + model.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal) && b.name.StartsWith("body.", StringComparison.Ordinal)).Sum(b => b.buffer.numel());
        Assert.IsTrue(result.Bytes > 4 * folded && result.Bytes < 4 * folded + 200_000, $"{result.Bytes} bytes for {folded} fp32 values");
    }

    [TestMethod]
    public void Resnet34_export_matches_in_both_layouts_and_carries_its_metadata()
    {
        const int size = 64;
        using var folder = new TempFolder("petsml-onnx");
        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet34, Classes.Length, seed: 4, pretrained: false);
        var pixels = ExportTestKit.MakeImages(Images, size, seed: 22);
        var stats = new NormalizationStats([0.5f, 0.45f, 0.4f], [0.25f, 0.2f, 0.3f]);
        CalibrateNorms(model, pixels, size, stats);
        using var classifier = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet34, Classes, "Features", size, "cpu", history: null, ownsModel: false);
        var preprocessing = new OnnxPreprocessing(new PresizeOptions { Size = 96 }, size, stats);

        var nchw = OnnxExporter.Export(classifier, preprocessing, folder.Combine("nchw.onnx"));
        var nhwc = OnnxExporter.Export(classifier, preprocessing, folder.Combine("nhwc.onnx"), new OnnxExportOptions { InputLayout = OnnxInputLayout.Nhwc });
        var expected = ExportTestKit.PetsProbabilities(classifier, pixels, Images, size, stats);
        ExportTestKit.AssertInformative(expected);
        var differenceNchw = ExportTestKit.MaxAbsDifference(expected, ExportTestKit.OnnxProbabilities(nchw.Path, pixels, Images, size));
        var differenceNhwc = ExportTestKit.MaxAbsDifference(expected, ExportTestKit.OnnxProbabilities(nhwc.Path, pixels, Images, size, nhwc: true));
        TestContext.WriteLine($"resnet34: NCHW max |Δp| = {differenceNchw:E2}, NHWC {differenceNhwc:E2}");
        Assert.IsLessThanOrEqualTo(Tolerance, differenceNchw);
        Assert.IsLessThanOrEqualTo(Tolerance, differenceNhwc);

        using var session = new InferenceSession(nhwc.Path);
        CollectionAssert.AreEqual(new[] { -1, size, size, 3 }, session.InputMetadata["image"].Dimensions);
        Assert.AreEqual(typeof(byte), session.InputMetadata["image"].ElementType);
        CollectionAssert.AreEqual(new[] { -1, Classes.Length }, session.OutputMetadata["probabilities"].Dimensions);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        CollectionAssert.AreEqual(Classes, System.Text.Json.JsonSerializer.Deserialize<string[]>(metadata["petsml.classes"]));
        Assert.AreEqual("NHWC", metadata["petsml.input_layout"]);
        Assert.AreEqual("96", metadata["petsml.presize_width"]);
        Assert.AreEqual("64", metadata["petsml.image_size"]);
        StringAssert.Contains(metadata["petsml.preprocessing"], "0.45");
        Assert.AreEqual("PetsML", session.ModelMetadata.ProducerName);
    }

    private static bool IsNorm(string name) => name.Contains(".bn", StringComparison.Ordinal) || name.Contains("downsample.1", StringComparison.Ordinal)
        || name.StartsWith("head.2.", StringComparison.Ordinal) || name.StartsWith("head.6.", StringComparison.Ordinal);

    /// <summary>Gives the head's BatchNorm1d layers non-trivial statistics and affine parameters, so folding them is exercised.</summary>
    private static void PerturbHeadNorms(ImageClassifier model, int seed)
    {
        using var generator = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in model.state_dict().Where(e => e.Key.StartsWith("head.2.", StringComparison.Ordinal) || e.Key.StartsWith("head.6.", StringComparison.Ordinal)))
        {
            using var noise = torch.rand(tensor.shape, generator: generator);
            if (name.EndsWith("running_var", StringComparison.Ordinal)) tensor.copy_(noise.mul(2).add(0.2));
            else if (name.EndsWith("running_mean", StringComparison.Ordinal)) tensor.copy_(noise.sub(0.5));
            else if (name.EndsWith("weight", StringComparison.Ordinal)) tensor.copy_(noise.add(0.5));
            else if (name.EndsWith("bias", StringComparison.Ordinal)) tensor.copy_(noise.sub(0.5).mul(0.2));
        }
    }

    /// <summary>
    /// Realistic BatchNorm statistics for a random body: one train-mode pass over the images with cumulative averages, so
    /// activations keep a sane scale through 34 layers and the probabilities are informative.
    /// </summary>
    private static void CalibrateNorms(ImageClassifier model, byte[] pixels, int size, NormalizationStats stats)
    {
        var norms = model.modules().OfType<TorchSharp.Modules.BatchNorm>().ToList();
        foreach (var norm in norms) norm.momentum = null;
        model.train();
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var x = torch.tensor(pixels, [Images, 3, size, size], dtype: torch.uint8).to(torch.float32).div(255);
            x = x.sub(torch.tensor(stats.Mean, [1, 3, 1, 1])).div(torch.tensor(stats.Std, [1, 3, 1, 1]));
            model.call(x);
        }
        foreach (var norm in norms) norm.momentum = 0.1;
        model.eval();
    }
}
