using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using PetsML.Host.Commands.Shared;
using Microsoft.ML.Data;
using PetsML.Host.Cli;
using PetsML.Tests.Support;
using PetsML.Host.Visualization;
using SkiaSharp;

namespace PetsML.Tests.Host;

/// <summary>
/// The lesson's workflow from the command line on a tiny generated data set (3 shape classes, 32-pixel images):
/// train once (with the report), then predict, evaluate, interpret, show-batch. Checks exit codes, the JSON
/// documents and that every PNG exists, decodes and has the expected size.
/// </summary>
[TestClass]
public sealed class HostWorkflowTests
{
    static TempFolder s_temp = null!;
    static string s_data = null!, s_model = null!, s_report = null!;
    static HostRunner.Result s_train = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext _)
    {
        s_temp = new TempFolder("petsml-host");
        s_data = s_temp.Combine("images");
        TestImages.WriteShapeDataset(s_data, perClass: 10, width: 56, height: 48);
        s_model = s_temp.Combine("model.zip");
        s_report = s_temp.Combine("report");
        s_train = HostRunner.Run("train", "--data", s_data, "--presize", "40", "--size", "32", "--batch-size", "4",
            "--epochs", "1", "--freeze-epochs", "1", "--out", s_model, "--batch-png", s_temp.Combine("batch.png"),
            "--report", s_report, "--json");
    }

    [ClassCleanup]
    public static void Cleanup() => s_temp?.Dispose();

    static JsonElement Json(HostRunner.Result result)
    {
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        return JsonDocument.Parse(result.Json).RootElement; // exactly one document, or Parse throws
    }

    static (int Width, int Height) Png(string path)
    {
        Assert.IsTrue(File.Exists(path), path);
        using var bitmap = SKBitmap.Decode(path);
        Assert.IsNotNull(bitmap, $"{path} does not decode");
        return (bitmap.Width, bitmap.Height);
    }

    [TestMethod]
    public void Train_says_its_training_plan_first_and_puts_it_in_the_json()
    {
        var json = Json(s_train);
        var plan = json.GetProperty("plan");
        Assert.AreEqual(4, plan.GetProperty("batchSize").GetInt32());
        Assert.AreEqual(1, plan.GetProperty("epochs").GetInt32());
        var line = plan.GetProperty("lines")[0].GetString()!;
        StringAssert.Contains(line, "training photos, 3 classes: batch 4, ");
        StringAssert.Contains(line, "BatchSize/Epochs/FreezeEpochs as set, the rest planned for this data");
        var table = s_train.Error.IndexOf("train_loss  valid_loss", StringComparison.Ordinal);
        Assert.IsTrue(s_train.Error.IndexOf(line, StringComparison.Ordinal) is >= 0 and var at && at < table, "the plan comes before the epoch table:\n" + s_train.Error);
    }

    [TestMethod]
    public void Train_writes_the_table_the_model_the_batch_picture_and_one_json_document()
    {
        var json = Json(s_train);
        Assert.AreEqual(2, json.GetProperty("epochs").GetArrayLength());
        Assert.AreEqual("frozen", json.GetProperty("epochs")[0].GetProperty("phase").GetString());
        Assert.IsTrue(File.Exists(s_model));
        StringAssert.Contains(s_train.Error, "train_loss  valid_loss  error_rate  accuracy  time", "the epoch table goes to stderr under --json");
        Assert.AreEqual("", s_train.Out.Trim(), "under --json stdout carries nothing but the JSON document");
        // A batch of 4 shown 2×2: 32-px images with BatchGrid's margins and caption bands.
        var (w, h) = Png(s_temp.Combine("batch.png"));
        Assert.AreEqual(2 * (32 + 2 * 4), w);
        Assert.AreEqual(2 * (32 + 20 + 2 * 4), h);
    }

    [TestMethod]
    public void Report_has_index_metrics_and_every_picture()
    {
        var html = File.ReadAllText(Path.Combine(s_report, "index.html"));
        foreach (var picture in new[] { "batch.png", "loss.png", "confusion_matrix.png", "top_losses.png", "reliability.png" })
        {
            StringAssert.Contains(html, $"src=\"{picture}\"");
            var (w, h) = Png(Path.Combine(s_report, picture));
            Assert.IsTrue(w > 50 && h > 50, $"{picture}: {w}x{h}");
        }
        Assert.AreEqual((LossPlot.DefaultWidth, LossPlot.DefaultHeight), Png(Path.Combine(s_report, "loss.png")));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_report, "metrics.json")));
        var cm = metrics.RootElement.GetProperty("validation").GetProperty("confusionMatrix");
        int total = cm.EnumerateArray().Sum(row => row.EnumerateArray().Sum(c => c.GetInt32()));
        Assert.AreEqual(metrics.RootElement.GetProperty("validation").GetProperty("images").GetInt32(), total);
        var calibration = metrics.RootElement.GetProperty("calibration");
        Assert.IsTrue(calibration.GetProperty("eceCalibrated").GetDouble() is >= 0 and <= 1);
        Assert.AreEqual(total, calibration.GetProperty("reliabilityCalibrated").EnumerateArray().Sum(b => b.GetProperty("count").GetInt32()), "every validation image is in one bin");
        StringAssert.Contains(html, "<h2>Calibration</h2>");
        Assert.IsLessThan(html.IndexOf("src=\"reliability.png\"", StringComparison.Ordinal), html.IndexOf("<h2>Calibration</h2>", StringComparison.Ordinal),
            "the reliability diagram is shown in the calibration section");
        Assert.AreEqual((ReliabilityDiagram.DefaultWidth, ReliabilityDiagram.DefaultHeight), Png(Path.Combine(s_report, "reliability.png")));
        Assert.IsTrue(new FileInfo(Path.Combine(s_report, "reliability.png")).Length is > 5_000 and < 2_000_000, "a plausible size for a chart");
        CollectionAssert.Contains(metrics.RootElement.GetProperty("pictures").EnumerateArray().Select(p => p.GetString()).ToList(), "reliability.png");
    }

    [TestMethod]
    public void Predict_gives_top3_per_image_and_fails_one_bad_image_with_exit_1()
    {
        var image = Directory.GetFiles(s_data, "Red_disc_*.jpg").First();
        var json = Json(HostRunner.Run("predict", "--model", s_model, image, "--json"));
        var prediction = json.GetProperty("predictions")[0];
        Assert.AreEqual(3, prediction.GetProperty("top").GetArrayLength());
        var probabilities = prediction.GetProperty("top").EnumerateArray().Select(t => t.GetProperty("probability").GetDouble()).ToList();
        CollectionAssert.AreEqual(probabilities.OrderByDescending(p => p).ToList(), probabilities);
        Assert.AreEqual(1.0, probabilities.Sum(), 1e-4);
        Assert.IsTrue(double.IsFinite(prediction.GetProperty("outlier_score").GetDouble()), "a model trained now has an outlier score");
        // Whether this photo is unknown depends on the threshold (5% of in-distribution photos are, by design); ScoreCalibrationTests checks the flag.
        Assert.IsTrue(prediction.GetProperty("unknown").ValueKind is JsonValueKind.True or JsonValueKind.False, "the flag is a Boolean");

        var broken = s_temp.Combine("broken.jpg");
        File.WriteAllBytes(broken, [0xFF, 0xD8, 0xFF, 0x00, 0x01]);
        var bad = HostRunner.Run("predict", "--model", s_model, image, broken);
        Assert.AreEqual(ExitCodes.BadInput, bad.ExitCode);
        StringAssert.Contains(bad.Error, "broken.jpg");
    }

    [TestMethod]
    public void Predict_explain_writes_the_heat_map_over_the_centre_crop()
    {
        var image = Directory.GetFiles(s_data, "green_square_*.jpg").First();
        var heat = s_temp.Combine("explain", "heat.png");
        var json = Json(HostRunner.Run("predict", "--model", s_model, image, "--explain", heat, "--json"));
        Assert.AreEqual(Path.GetFullPath(heat), json.GetProperty("predictions")[0].GetProperty("heatmap").GetString());
        Assert.AreEqual((32, 32), Png(heat), "the overlay has the size of the view the network saw");

        var two = HostRunner.Run("predict", "--model", s_model, image, image, "--explain", heat);
        Assert.AreNotEqual(ExitCodes.Success, two.ExitCode);
        StringAssert.Contains(two.Out + two.Error, "--explain");
    }

    /// <summary>The Grad-CAM API on the real fine-tuned pipeline, loaded from its .zip: one map per row, the view's size, values in [0, 1].</summary>
    [TestMethod]
    public void GradCam_of_a_loaded_model_gives_one_map_per_row_of_the_view_size_in_0_1()
    {
        var ml = new MLContext(seed: 0);
        var model = ml.Model.Load(s_model, out _);
        try
        {
            Assert.IsTrue(ClassifierStep.TrySplit(model, out var before, out var classifier));
            var paths = Directory.GetFiles(s_data, "*.jpg").Order(StringComparer.Ordinal).Take(5).ToList();
            var rows = before.Transform(ml.Data.LoadFromEnumerable(paths.Select(p => new ImageFileRow { ImagePath = p })));
            var predicted = classifier.Transform(rows).GetColumn<float[]>("Score").ToList();
            var maps = classifier.GradCam(rows).ToList();
            Assert.HasCount(5, maps);
            for (int i = 0; i < maps.Count; i++)
            {
                var map = maps[i];
                Assert.AreEqual((32, 32), (map.Width, map.Height));
                Assert.HasCount(32 * 32, map.Heat);
                Assert.HasCount(32 * 32 * 3, map.Pixels);
                Assert.IsTrue(map.Heat.All(v => v >= 0 && v <= 1), "values in [0, 1]");
                Assert.IsTrue(map.Heat.Max() == 1 || map.Heat.All(v => v == 0), "divided by its maximum");
                Assert.AreEqual(Array.IndexOf(predicted[i], predicted[i].Max()), map.ClassIndex, "the predicted class by default");
                Assert.AreEqual(predicted[i][map.ClassIndex], map.Probability, 1e-4);
            }
            // Another class on request; the same map for the same row every time, also from several threads at once.
            var other = classifier.GradCam(rows, classIndex: (maps[0].ClassIndex + 1) % 3).First();
            Assert.AreEqual((maps[0].ClassIndex + 1) % 3, other.ClassIndex);
            var again = new GradCamMap[4];
            Parallel.For(0, 4, k => again[k] = classifier.GradCam(rows).First());
            foreach (var m in again) CollectionAssert.AreEqual(maps[0].Heat, m.Heat);
            Assert.IsTrue(classifier.Model.parameters().All(p => p.grad is null), "the model keeps no gradients");
            using (var decoded = SKBitmap.Decode(maps[0].ToPng())) Assert.AreEqual((32, 32), (decoded.Width, decoded.Height));
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => classifier.GradCam(rows, classIndex: 3));
        }
        finally { (model as IDisposable)?.Dispose(); }
    }

    [TestMethod]
    public void Evaluate_confusion_matrix_sums_to_the_validation_size()
    {
        var json = Json(HostRunner.Run("evaluate", "--model", s_model, "--data", s_data, "--json"));
        int images = json.GetProperty("images").GetInt32();
        Assert.AreEqual(6, images, "30 images, valid_pct 0.2");
        int total = json.GetProperty("confusionMatrix").EnumerateArray().Sum(row => row.EnumerateArray().Sum(c => c.GetInt32()));
        Assert.AreEqual(images, total);
        Assert.AreEqual(1 - json.GetProperty("microAccuracy").GetDouble(), json.GetProperty("errorRate").GetDouble(), 1e-9);
    }

    [TestMethod]
    public void Interpret_draws_the_confusion_matrix_at_its_measured_size_and_the_top_losses()
    {
        var folder = s_temp.Combine("interpret");
        var json = Json(HostRunner.Run("interpret", "--model", s_model, "--data", s_data, "--out", folder, "-k", "4", "--json"));
        Assert.AreEqual(4, json.GetProperty("topLosses").GetArrayLength());
        var losses = json.GetProperty("topLosses").EnumerateArray().Select(t => t.GetProperty("loss").GetDouble()).ToList();
        CollectionAssert.AreEqual(losses.OrderByDescending(l => l).ToList(), losses);
        var classes = json.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToList();
        var cm = json.GetProperty("confusionMatrix").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        var matrix = new int[classes.Count, classes.Count];
        for (int a = 0; a < classes.Count; a++) for (int p = 0; p < classes.Count; p++) matrix[a, p] = cm[a][p];
        Assert.AreEqual(ConfusionMatrixPlot.Measure(matrix, classes), Png(Path.Combine(folder, "confusion_matrix.png")));
        var (w, h) = Png(Path.Combine(folder, "top_losses.png"));
        Assert.IsTrue(w >= 3 * 32 && h >= 2 * 32, $"{w}x{h}");
        var calibration = json.GetProperty("calibration");
        Assert.IsTrue(calibration.GetProperty("ecePlain").GetDouble() is >= 0 and <= 1);
        Assert.IsTrue(calibration.GetProperty("eceCalibrated").GetDouble() is >= 0 and <= 1);
        Assert.IsTrue(calibration.GetProperty("temperature").GetDouble() > 0);
        var reliability = Path.Combine(folder, "reliability.png");
        Assert.AreEqual((ReliabilityDiagram.DefaultWidth, ReliabilityDiagram.DefaultHeight), Png(reliability));
        Assert.IsTrue(new FileInfo(reliability).Length is > 5_000 and < 2_000_000, "a plausible size for a chart");
        CollectionAssert.Contains(json.GetProperty("pictures").EnumerateArray().Select(p => p.GetString()).ToList(), Path.GetFullPath(reliability));
    }

    [TestMethod]
    public void An_unknown_photo_is_printed_with_its_closest_class()
    {
        Assert.AreEqual("unknown (closest: Bengal, 41%)", PetsML.Host.Commands.Predict.PredictCommand.Describe("Bengal", 0.41f, unknown: true));
        Assert.AreEqual("Bengal", PetsML.Host.Commands.Predict.PredictCommand.Describe("Bengal", 0.41f, unknown: false));
    }

    [TestMethod]
    [TestCategory("Browser")]
    public void Report_renders_in_headless_chromium_with_every_image_loaded()
    {
        var chromium = Chromium.PathOrEnd(nameof(Report_renders_in_headless_chromium_with_every_image_loaded));
        // A page next to the report that loads it in an iframe and writes each image's naturalWidth into the DOM.
        var probe = Path.Combine(s_report, "probe.html");
        File.WriteAllText(probe, """
            <!DOCTYPE html><html><body><div id="out">pending</div>
            <iframe id="f" src="index.html" width="1200" height="800"></iframe>
            <script>
            document.getElementById('f').addEventListener('load', () => {
              const imgs = [...document.getElementById('f').contentDocument.images];
              const check = () => {
                if (imgs.some(i => !i.complete)) { setTimeout(check, 50); return; }
                document.getElementById('out').textContent = 'images:' + imgs.map(i => i.getAttribute('src') + '=' + i.naturalWidth).join(',');
              };
              check();
            });
            </script></body></html>
            """);
        var start = new ProcessStartInfo(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
            "--virtual-time-budget=5000", "--dump-dom", new Uri(probe).AbsoluteUri]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var dom = process.StandardOutput.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(60_000), "chromium did not finish");
        var line = dom.Split("images:").ElementAtOrDefault(1)?.Split('<')[0];
        Assert.IsNotNull(line, dom);
        var widths = line.Split(',').Select(e => e.Split('=')).ToList();
        Assert.AreEqual(5, widths.Count, line); // batch, loss, reliability (calibration section), confusion matrix, top losses
        foreach (var w in widths) Assert.IsTrue(int.Parse(w[1]) > 0, $"{w[0]} did not load: {line}");
    }
}
