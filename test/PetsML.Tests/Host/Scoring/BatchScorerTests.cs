using Microsoft.ML;
using PetsML.Tests.Support;
using PetsML.Tests.Onnx.Export;
using PetsML.Onnx.Export;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Host.Scoring;
using PetsML.Onnx.Scoring;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Host.Scoring;

/// <summary>Folder scoring: nested folders, bad files counted, resume after a cancel or a killed writer, both engines.</summary>
[TestClass]
public sealed class BatchScorerTests
{
    private const int Size = 32;
    private static readonly string[] Classes = TestImages.ShapeClasses;

    private static TempFolder _folder = null!;
    private static ImageClassifier _model = null!;
    private static ImageClassifierTransformer _classifier = null!;
    private static OnnxPreprocessing _preprocessing = null!;

    [ClassInitialize]
    public static void Setup(TestContext _)
    {
        _folder = new TempFolder("petsml-score");
        // 45 images in nested folders, and two bad files.
        TestImages.WriteShapeDataset(_folder.Combine("photos", "a"), perClass: 5, width: 40, height: 36, seed: 3);
        TestImages.WriteShapeDataset(_folder.Combine("photos", "b", "c"), perClass: 10, width: 36, height: 44, seed: 4);
        File.WriteAllBytes(_folder.Combine("photos", "a", "broken.jpg"), [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]);
        File.WriteAllBytes(_folder.Combine("photos", "b", "empty.png"), []);
        _model = ImageClassifier.Create(ResNetArchitecture.ResNet18, Classes.Length, seed: 5, pretrained: false);
        _classifier = new ImageClassifierTransformer(_model, ResNetArchitecture.ResNet18, Classes, "Features", Size, "cpu", history: null, ownsModel: false);
        _preprocessing = new OnnxPreprocessing(new PresizeOptions { Size = 48 }, Size, NormalizationStats.ImageNet);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _classifier?.Dispose();
        _model?.Dispose();
        _folder?.Dispose();
    }

    private sealed class CancelAfter(int batches, CancellationTokenSource source) : IProgress<BatchScoreProgress>
    {
        private int _seen;
        public void Report(BatchScoreProgress value)
        {
            if (++_seen == batches) source.Cancel();
        }
    }

    [TestMethod]
    public void Score_resumes_after_a_cancel_and_a_half_written_line_with_the_rows_of_an_uninterrupted_run()
    {
        using var scorer = new TorchBatchClassifier(_classifier, _preprocessing);
        var options = new BatchScoreOptions { BatchSize = 8, TopK = 2 };
        var full = _folder.Combine("full.csv");
        var complete = BatchScorer.ScoreFolder(scorer, _folder.Combine("photos"), full, options);
        Assert.AreEqual(47, complete.Total);
        Assert.AreEqual(45, complete.Written);
        Assert.AreEqual(2, complete.BadCount);
        CollectionAssert.AreEquivalent(new[] { "broken.jpg", "empty.png" }, complete.Bad.Select(b => Path.GetFileName(b.Path)).ToArray());
        var lines = File.ReadAllLines(full);
        Assert.AreEqual("path,label,probability,label_2,probability_2,outlier_score,unknown", lines[0]);
        Assert.IsTrue(lines.Skip(1).All(l => l.EndsWith(",,", StringComparison.Ordinal)), "a model without calibration has no outlier score");
        Assert.AreEqual(46, lines.Length);
        Assert.IsTrue(lines.Skip(1).All(l => l.StartsWith("a/", StringComparison.Ordinal) || l.StartsWith("b/c/", StringComparison.Ordinal)), "paths relative to the folder");

        // Stopped after two batches, then a writer killed in the middle of a row.
        var partial = _folder.Combine("partial.csv");
        using (var cancel = new CancellationTokenSource())
            Assert.ThrowsExactly<OperationCanceledException>(() =>
                BatchScorer.ScoreFolder(scorer, _folder.Combine("photos"), partial, options, new CancelAfter(2, cancel), cancel.Token));
        var stopped = File.ReadAllLines(partial);
        Assert.IsTrue(stopped.Length > 1 && stopped.Length < 46, $"stopped midway ({stopped.Length - 1} rows)");
        File.AppendAllText(partial, lines[^1][..12]);

        var resumed = BatchScorer.ScoreFolder(scorer, _folder.Combine("photos"), partial, options);
        Assert.IsTrue(resumed.RepairedLastLine, "the half-written line was cut");
        Assert.AreEqual(stopped.Length - 1, resumed.AlreadyWritten);
        Assert.AreEqual(45, resumed.AlreadyWritten + resumed.Written);
        CollectionAssert.AreEqual(File.ReadAllBytes(full), File.ReadAllBytes(partial), "same file as the uninterrupted run");

        var again = BatchScorer.ScoreFolder(scorer, _folder.Combine("photos"), partial, options);
        Assert.AreEqual(0, again.Written, "a finished file is left as it is");
        Assert.AreEqual(2, again.BadCount, "bad files are retried and counted again");
    }

    [TestMethod]
    public void Onnx_engine_scores_the_folder_like_torchsharp()
    {
        var onnx = OnnxExporter.Export(_classifier, _preprocessing, _folder.Combine("model.onnx"));
        using var torchScorer = new TorchBatchClassifier(_classifier, _preprocessing);
        using var onnxScorer = new OnnxBatchClassifier(onnx.Path);
        CollectionAssert.AreEqual(Classes, onnxScorer.ClassNames.ToArray());
        Assert.AreEqual(48, onnxScorer.Preprocessing.Presize.TargetWidth);
        var options = new BatchScoreOptions { BatchSize = 16, TopK = 3 };
        BatchScorer.ScoreFolder(torchScorer, _folder.Combine("photos"), _folder.Combine("torch.csv"), options);
        var result = BatchScorer.ScoreFolder(onnxScorer, _folder.Combine("photos"), _folder.Combine("onnx.csv"), options);
        Assert.AreEqual(45, result.Written);

        static Dictionary<string, Dictionary<string, double>> Read(string path) => File.ReadAllLines(path).Skip(1).Select(l => l.Split(','))
            .ToDictionary(f => f[0], f => Enumerable.Range(0, 3).ToDictionary(k => f[1 + 2 * k], k => double.Parse(f[2 + 2 * k], System.Globalization.CultureInfo.InvariantCulture)));
        var torchRows = Read(_folder.Combine("torch.csv"));
        var onnxRows = Read(_folder.Combine("onnx.csv"));
        CollectionAssert.AreEquivalent(torchRows.Keys.ToArray(), onnxRows.Keys.ToArray());
        // The ONNX engine feeds the graph the resized image rounded to uint8, as a caller of the file does: close, not equal.
        var difference = torchRows.Max(r => Classes.Max(c => Math.Abs(r.Value[c] - onnxRows[r.Key][c])));
        Assert.IsLessThan(0.01, difference, $"max |Δp| between the engines {difference}");
    }

    [TestMethod]
    public void Outlier_score_and_unknown_columns_agree_between_torchsharp_the_onnx_file_and_the_pipeline()
    {
        // The same network with a calibration: T = 1.5 and a threshold between the scores, so both flags occur.
        using var calibrated = new ImageClassifierTransformer(_model, ResNetArchitecture.ResNet18, Classes, "Features", Size, "cpu", history: null, ownsModel: false);
        using var torchScorer = new TorchBatchClassifier(calibrated, _preprocessing);
        calibrated.Calibration = new ScoreCalibration(1.5f, 0.95f, threshold: 0f);
        var torchCsv = _folder.Combine("calibrated-torch.csv");
        BatchScorer.ScoreFolder(torchScorer, _folder.Combine("photos"), torchCsv, new BatchScoreOptions { TopK = 1 });
        var torchScores = ReadScores(torchCsv);
        // A threshold halfway between the two middle scores, so no score sits on it.
        var sorted = torchScores.Values.Select(v => v.Score).Order().ToArray();
        var median = (float)((sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2);
        calibrated.Calibration = new ScoreCalibration(1.5f, 0.95f, median);
        File.Delete(torchCsv);
        BatchScorer.ScoreFolder(torchScorer, _folder.Combine("photos"), torchCsv, new BatchScoreOptions { TopK = 1 });
        torchScores = ReadScores(torchCsv);
        var unknown = torchScores.Values.Count(v => v.Unknown);
        Assert.IsTrue(unknown > 0 && unknown < torchScores.Count, $"{unknown} of {torchScores.Count} flagged: the threshold splits them");
        Assert.IsTrue(torchScores.Values.All(v => v.Unknown == v.Score > median), "unknown is the score above the threshold");

        var onnx = OnnxExporter.Export(calibrated, _preprocessing, _folder.Combine("calibrated.onnx"));
        Assert.AreEqual("outlier_score", onnx.OutlierScoreName);
        using var onnxScorer = new OnnxBatchClassifier(onnx.Path);
        Assert.AreEqual<float?>(median, onnxScorer.UnknownThreshold);
        var onnxCsv = _folder.Combine("calibrated-onnx.csv");
        BatchScorer.ScoreFolder(onnxScorer, _folder.Combine("photos"), onnxCsv, new BatchScoreOptions { TopK = 1 });
        var onnxScores = ReadScores(onnxCsv);
        CollectionAssert.AreEquivalent(torchScores.Keys.ToArray(), onnxScores.Keys.ToArray());
        var spread = torchScores.Values.Max(v => v.Score) - torchScores.Values.Min(v => v.Score);
        Assert.IsGreaterThan(1e-3, spread, "the scores differ between photos, so agreeing means something");
        // The ONNX engine is fed the resize rounded to uint8 (as a caller of the file is): close, not equal.
        var difference = torchScores.Max(r => Math.Abs(r.Value.Score - onnxScores[r.Key].Score));
        Assert.IsLessThan(0.05 * spread + 1e-3, difference, $"max |Δ outlier score| between the engines {difference} (spread {spread})");
        foreach (var (path, torch) in torchScores.Where(r => Math.Abs(r.Value.Score - median) > 2 * difference + 1e-4))
            Assert.AreEqual(torch.Unknown, onnxScores[path].Unknown, $"{path}: the engines flag it alike");
    }

    private static Dictionary<string, (double Score, bool Unknown)> ReadScores(string csv) => File.ReadAllLines(csv).Skip(1).Select(l => l.Split(','))
        .ToDictionary(f => f[0], f => (double.Parse(f[^2], System.Globalization.CultureInfo.InvariantCulture), bool.Parse(f[^1])));

    [TestMethod]
    public void A_csv_of_another_kind_is_refused_and_left_alone()
    {
        using var scorer = new TorchBatchClassifier(_classifier, _preprocessing);
        var other = _folder.Combine("other.csv");
        File.WriteAllText(other, "name,score\nx,1\n");
        var error = Assert.ThrowsExactly<InvalidDataException>(() => BatchScorer.ScoreFolder(scorer, _folder.Combine("photos"), other, new BatchScoreOptions()));
        StringAssert.Contains(error.Message, "other.csv");
        Assert.AreEqual("name,score\nx,1\n", File.ReadAllText(other));
    }

    [TestMethod]
    public void Host_exports_a_model_zip_with_a_triton_repository_and_scores_with_the_onnx_file()
    {
        // A model .zip without training: the fitted data pipeline followed by the classifier.
        var ml = new MLContext(seed: 0).RegisterPetsML();
        var data = ml.Data.LoadImageFiles(_folder.Combine("photos", "a"));
        var pipeline = ml.Transforms.Presize(new PresizeOptions { Size = 48 })
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = Size }))
            .Fit(data).Append<ITransformer>(_classifier);
        var zip = _folder.Combine("host-model.zip");
        ml.Model.Save(pipeline, data.Schema, zip);

        var onnx = _folder.Combine("host", "model.onnx");
        var export = PetsML.Tests.Host.HostRunner.Run("export", "--model", zip, "--onnx", onnx, "--triton", _folder.Combine("host", "triton"), "--name", "pets", "--json");
        Assert.AreEqual(0, export.ExitCode, export.Error + export.Out);
        using (var json = System.Text.Json.JsonDocument.Parse(export.Json))
            Assert.AreEqual(new FileInfo(onnx).Length, json.RootElement.GetProperty("bytes").GetInt64());
        Assert.IsTrue(File.Exists(_folder.Combine("host", "triton", "pets", "1", "model.onnx")));
        Assert.IsTrue(File.Exists(_folder.Combine("host", "triton", "pets", "config.pbtxt")));

        var csv = _folder.Combine("host", "predictions.csv");
        var score = PetsML.Tests.Host.HostRunner.Run("score", "--model", onnx, "--data", _folder.Combine("photos"), "--out", csv, "--batch-size", "16", "--json");
        Assert.AreEqual(0, score.ExitCode, score.Error + score.Out);
        StringAssert.Contains(score.Error, "broken.jpg");
        using (var json = System.Text.Json.JsonDocument.Parse(score.Json))
        {
            Assert.AreEqual(45, json.RootElement.GetProperty("written").GetInt32());
            Assert.AreEqual(2, json.RootElement.GetProperty("badCount").GetInt32());
            Assert.AreEqual("onnxruntime", json.RootElement.GetProperty("engine").GetString());
        }
        Assert.AreEqual(46, File.ReadAllLines(csv).Length);

        var missing = PetsML.Tests.Host.HostRunner.Run("score", "--model", _folder.Combine("nope.onnx"), "--data", _folder.Combine("photos"));
        Assert.AreEqual(1, missing.ExitCode);
        StringAssert.Contains(missing.Error, "nope.onnx");
    }
}
