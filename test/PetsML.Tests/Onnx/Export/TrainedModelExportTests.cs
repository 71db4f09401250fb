using System.Text.RegularExpressions;
using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Image;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Onnx.Export;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Interop.Onnx.Proto;
using PetsML.Trainers.Training;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Onnx.Export;

/// <summary>
/// A pipeline fine-tuned in bf16-mixed, exported from the fitted ML.NET model: ONNX Runtime reproduces its scores, an
/// ML.NET app with ApplyOnnxModel (no TorchSharp) its labels, and the Triton repository matches the file.
/// </summary>
[TestClass]
public sealed class TrainedModelExportTests
{
    private const int Size = 32; // presize and trained size alike, so the validation resample is the identity
    private const int Predictions = 18;

    private static TempFolder _folder = null!;
    private static MLContext _ml = null!;
    private static ITransformer _model = null!;
    private static ImageClassifierTransformer _classifier = null!;
    private static OnnxExportResult _export = null!;
    private static string[] _paths = null!;

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _folder = new TempFolder("petsml-onnx-trained");
        TestImages.WriteShapeDataset(_folder.Combine("train"), perClass: 16, width: 64, height: 56);
        _paths = TestImages.WriteShapeDataset(_folder.Combine("predict"), perClass: Predictions / 3, width: Size, height: Size, seed: 9).ToArray();
        _ml = new MLContext(seed: 0);
        var data = _ml.Data.LoadImageFiles(_folder.Combine("train"));
        var trainer = _ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            Epochs = 1, FreezeEpochs = 1, BatchSize = 8, Seed = 7, Compute = { Device = "cpu", Precision = TrainingPrecision.Bf16Mixed },
        });
        _model = _ml.Transforms.LabelFromFileName()
            .Append(_ml.Transforms.RandomSplit(validPct: 0.2, seed: 42))
            .Append(_ml.Transforms.Presize(new PresizeOptions { Size = Size }))
            .Append(_ml.Transforms.AugmentImages(new AugmentOptions { Size = Size }))
            .Append(trainer)
            .Fit(data);
        _classifier = ((IEnumerable<ITransformer>)_model).OfType<ImageClassifierTransformer>().Single();
        _export = OnnxExporter.Export(_model, _folder.Combine("trained.onnx"));
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _classifier?.Dispose();
        _folder?.Dispose();
    }

    private static IDataView Rows() => _ml.Data.LoadFromEnumerable(_paths.Select(p => new ImageFileRow { ImagePath = p }));

    [TestMethod]
    public void Bf16_trained_model_exports_the_pipelines_scores()
    {
        var last = _classifier.History!.Epochs[^1];
        Assert.IsTrue(last.ErrorRate < 0.34, $"bf16-mixed training learned: validation error {last.ErrorRate}");
        Assert.AreEqual(TrainingPrecision.Fp32, _classifier.InferencePrecision, "PetsML's own prediction runs the fp32 master weights");

        var scored = _model.Transform(Rows());
        var expected = scored.GetColumn<float[]>("Score").ToArray();
        var presized = scored.GetColumn<byte[]>("Image").SelectMany(b => b).ToArray();
        var actual = ExportTestKit.OnnxProbabilities(_export.Path, presized, _paths.Length, Size);
        ExportTestKit.AssertInformative(expected);
        var difference = ExportTestKit.MaxAbsDifference(expected, actual);
        Assert.IsLessThanOrEqualTo(1e-4, difference, $"the ONNX file reproduces the pipeline's scores (max |Δp| {difference})");
    }

    [TestMethod]
    public void The_outlier_score_is_an_output_of_the_file_equal_to_the_pipelines_column()
    {
        Assert.AreEqual("outlier_score", _export.OutlierScoreName);
        var scored = _model.Transform(Rows());
        var expected = scored.GetColumn<float>(ImageClassifierTransformer.OutlierScoreColumnName).ToArray();
        var presized = scored.GetColumn<byte[]>("Image").SelectMany(b => b).ToArray();
        var actual = ExportTestKit.OnnxOutput(_export.Path, "outlier_score", presized, _paths.Length, Size);
        Assert.IsTrue(actual.All(row => row.Length == 1), "one score a row");
        Assert.IsGreaterThan(1e-3, expected.Max() - expected.Min(), "the scores differ between photos, so agreeing means something");
        var difference = expected.Zip(actual, (e, a) => Math.Abs(e - a[0])).Max();
        Assert.IsLessThanOrEqualTo(1e-3, difference, $"the ONNX file reproduces the pipeline's OutlierScore (max |Δ| {difference})");
        var flagged = scored.GetColumn<bool>(ImageClassifierTransformer.IsUnknownColumnName).ToArray();
        var threshold = _classifier.UnknownThreshold!.Value;
        for (int i = 0; i < flagged.Length; i++)
            if (Math.Abs(expected[i] - threshold) > difference)
                Assert.AreEqual(flagged[i], actual[i][0] > threshold, $"row {i}: the file's score and the model's threshold give IsUnknown");
    }

    [TestMethod]
    public void The_calibration_travels_in_the_graph_and_the_metadata()
    {
        using var session = new InferenceSession(_export.Path);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.AreEqual(_classifier.Temperature, float.Parse(metadata["petsml.temperature"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.AreEqual(_classifier.UnknownThreshold, float.Parse(metadata["petsml.unknown_threshold"], System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void Mlnet_ApplyOnnxModel_predicts_the_same_labels_without_TorchSharp_code()
    {
        var ml = new MLContext(seed: 0);
        var pipeline = ml.Transforms.LoadImages("Photo", imageFolder: "", inputColumnName: "ImagePath")
            .Append(ml.Transforms.ResizeImages("Photo", Size, Size, resizing: ImageResizingEstimator.ResizingKind.IsoCrop, cropAnchor: ImageResizingEstimator.Anchor.Center))
            .Append(ml.Transforms.ExtractPixels("image", "Photo", interleavePixelColors: false, outputAsFloatArray: false))
            .Append(ml.Transforms.ApplyOnnxModel(["probabilities"], ["image"], _export.Path,
                shapeDictionary: new Dictionary<string, int[]> { ["image"] = [1, 3, Size, Size] }, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100));
        var rows = ml.Data.LoadFromEnumerable(_paths.Select(p => new ImageFileRow { ImagePath = p }));
        var onnxLabels = pipeline.Fit(rows).Transform(rows).GetColumn<float[]>("probabilities")
            .Select(p => _export.ClassNames[Array.IndexOf(p, p.Max())]).ToArray();

        var scored = _model.Transform(Rows());
        var petsLabels = _ml.Transforms.Conversion.MapKeyToValue("Breed", "PredictedLabel").Fit(scored).Transform(scored)
            .GetColumn<string>("Breed").ToArray();
        CollectionAssert.AreEqual(petsLabels, onnxLabels);
        var truth = _paths.Select(p => Regex.Match(Path.GetFileName(p), "^(.+)_\\d+\\.jpg$").Groups[1].Value).ToArray();
        Assert.IsTrue(onnxLabels.Zip(truth).Count(x => x.First == x.Second) >= Predictions * 2 / 3, "the labels are mostly right, so agreeing means something");
    }

    [TestMethod]
    public void Triton_config_agrees_with_the_onnx_file()
    {
        var repository = _folder.Combine("triton");
        var configPath = TritonModelRepository.Write(_export.Path, repository, "pets", maxBatchSize: 32);
        Assert.AreEqual(Path.Combine(repository, "pets", "config.pbtxt"), configPath);
        var config = File.ReadAllText(configPath);
        StringAssert.Contains(config, "name: \"pets\"");
        StringAssert.Contains(config, "platform: \"onnxruntime_onnx\"");
        StringAssert.Contains(config, "max_batch_size: 32");
        StringAssert.Contains(config, "dynamic_batching");

        using var session = new InferenceSession(Path.Combine(repository, "pets", "1", "model.onnx"));
        var entries = Regex.Matches(config, "name: \"(?<name>[^\"]+)\"\\s*data_type: (?<type>\\w+)\\s*dims: \\[ (?<dims>[^\\]]*) \\]")
            .ToDictionary(m => m.Groups["name"].Value, m => (Type: m.Groups["type"].Value, Dims: m.Groups["dims"].Value.Split(", ").Select(int.Parse).ToArray()));
        Assert.HasCount(3, entries, "the image, the probabilities and the outlier score");
        foreach (var (name, metadata, section) in session.InputMetadata.Select(i => (i.Key, i.Value, "input"))
                     .Concat(session.OutputMetadata.Select(o => (o.Key, o.Value, "output"))))
        {
            Assert.IsTrue(entries.ContainsKey(name), $"config.pbtxt has the {section} '{name}'");
            Assert.AreEqual(-1, metadata.Dimensions[0], "the file's batch axis is dynamic");
            CollectionAssert.AreEqual(metadata.Dimensions.Skip(1).ToArray(), entries[name].Dims, $"dims of '{name}' without the batch axis");
            Assert.AreEqual(metadata.ElementType == typeof(byte) ? "TYPE_UINT8" : metadata.ElementType == typeof(float) ? "TYPE_FP32" : "?", entries[name].Type);
        }
        Assert.ThrowsExactly<ArgumentException>(() => TritonModelRepository.Write(_export.Path, repository, "../escape"));
    }

    [TestMethod]
    public void The_warning_check_sees_a_warning_when_there_is_one()
    {
        Assert.AreEqual("", FreshProcess.OnnxSessionWarnings(_export.Path).Trim(), "the exported file opens without warnings");
        // The same file with an initializer no node reads: ONNX Runtime warns that it removes it.
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(_export.Path));
        model.Graph.Initializer.Add(new TensorProto { Name = "unused", DataType = 1, Dims = { 1 }, FloatData = { 0f } });
        var flawed = _folder.Combine("flawed.onnx");
        File.WriteAllBytes(flawed, model.ToByteArray());
        StringAssert.Contains(FreshProcess.OnnxSessionWarnings(flawed), "unused");
    }
}
