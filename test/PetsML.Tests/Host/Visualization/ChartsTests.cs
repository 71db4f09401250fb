using PetsML.Host.Commands.Shared;
using PetsML.Host.Visualization;
using PetsML.Tests.Support;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Training;
using SkiaSharp;

namespace PetsML.Tests.Host.Visualization;

/// <summary>
/// The ScottPlot charts (loss, lr_find, reliability diagram) on data made here: each PNG decodes at its documented size,
/// has text (a font with glyphs was found) and puts each series where its data says, read back from the pixels by colour.
/// Set PETSML_KEEP_PICTURES to a folder to keep the pictures and look at them.
/// </summary>
[TestClass]
public sealed class ChartsTests
{
    TempFolder _temp = null!;

    [TestInitialize]
    public void CreateFolder() => _temp = new TempFolder("petsml-charts");

    [TestCleanup]
    public void DeleteFolder() => _temp.Dispose();

    sealed record Picture(int Width, int Height, SKColor[] Pixels)
    {
        public IEnumerable<(int X, int Y)> Near(ScottPlot.Color colour, int tolerance = 40) =>
            Enumerable.Range(0, Pixels.Length).Where(i => Distance(Pixels[i], colour) <= tolerance).Select(i => (i % Width, i / Width));

        /// <summary>Dark pixels (text, axes) in rows [top, bottom).</summary>
        public int DarkIn(int top, int bottom) => Enumerable.Range(top * Width, (bottom - top) * Width).Count(i => Pixels[i] is { Red: < 90, Green: < 90, Blue: < 90 });

        static int Distance(SKColor p, ScottPlot.Color c) => Math.Abs(p.Red - c.R) + Math.Abs(p.Green - c.G) + Math.Abs(p.Blue - c.B);
    }

    Picture Load(string path)
    {
        Assert.IsTrue(File.Exists(path), path);
        if (Environment.GetEnvironmentVariable("PETSML_KEEP_PICTURES") is { } keep) File.Copy(path, Path.Combine(keep, Path.GetFileName(path)), true);
        var bytes = File.ReadAllBytes(path);
        CollectionAssert.AreEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4], "a PNG signature");
        Assert.IsTrue(bytes.Length is > 5_000 and < 2_000_000, $"a plausible size for a chart: {bytes.Length} bytes");
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.IsNotNull(bitmap, $"{path} does not decode");
        Assert.IsFalse(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp").Any(), "no temporary file is left behind");
        return new Picture(bitmap.Width, bitmap.Height, bitmap.Pixels);
    }

    static double Median(IEnumerable<int> values)
    {
        var sorted = values.Order().ToArray();
        Assert.IsNotEmpty(sorted, "the series is drawn");
        return sorted[sorted.Length / 2];
    }

    [TestMethod]
    public void Charts_use_a_sans_serif_font_that_has_glyphs()
    {
        var name = Typefaces.ChartFont;
        Assert.DoesNotContain("Serif", name, "fastai's plots are sans-serif; ScottPlot's own pick on Debian is DejaVu Serif");
        var typeface = ScottPlot.Fonts.GetTypeface(name, bold: false, italic: false); // ScottPlot's cached copy: not disposed here
        Assert.IsTrue(typeface.GlyphCount > 0, $"{name} has glyphs, so text does not vanish");
    }

    [TestMethod]
    public void Loss_plot_draws_the_falling_training_curve_the_validation_points_and_its_title()
    {
        var smoothed = Enumerable.Range(0, 120).Select(i => 2.0 * Math.Exp(-i / 30.0) + 0.2).ToArray();
        var epochs = new[] { 1.2, 0.8, 0.5 }.Select((v, i) => new EpochRecord(i, smoothed[(i + 1) * 40 - 1], v, 0.1, 0.9, TimeSpan.FromSeconds(1))).ToArray();
        var path = _temp.Combine("out", "loss.png");
        LossPlot.Save(smoothed, epochs, path);

        var picture = Load(path);
        Assert.AreEqual((LossPlot.DefaultWidth, LossPlot.DefaultHeight), (picture.Width, picture.Height));
        Assert.IsTrue(picture.DarkIn(0, 35) > 25, "the title is drawn above the plot");
        var train = picture.Near(Charts.Blue).ToList();
        int third = picture.Width / 3;
        // Screen y grows downwards: a falling loss sits lower (larger y) on the right. The median ignores the legend's sample line.
        Assert.IsTrue(Median(train.Where(p => p.X < third).Select(p => p.Y)) + 100 < Median(train.Where(p => p.X > 2 * third).Select(p => p.Y)),
            "the training loss falls from left to right");
        var valid = picture.Near(Charts.Orange).ToList();
        Assert.IsTrue(valid.Count > 100, $"the validation points are drawn: {valid.Count} pixels");
    }

    [TestMethod]
    public void Lr_find_plot_marks_each_suggestion_in_its_colour_in_order_of_learning_rate()
    {
        var lrs = Enumerable.Range(0, 100).Select(i => 1e-7 * Math.Pow(10, i * 8 / 99.0)).ToArray();
        var losses = lrs.Select(lr => 2 - 0.3 * Math.Log10(lr / 1e-7) + Math.Exp(Math.Log10(lr) + 2)).ToArray();
        var result = new LrFindResult(lrs, losses, Valley: 1e-4, Minimum: 1e-3, Steep: 1e-5, Slide: 3e-2);
        var path = _temp.Combine("lr_find.png");
        LrFindPlot.Save(result, path);

        var picture = Load(path);
        Assert.AreEqual((LrFindPlot.DefaultWidth, LrFindPlot.DefaultHeight), (picture.Width, picture.Height));
        Assert.IsTrue(picture.DarkIn(0, 35) > 25, "the title is drawn above the plot");
        // Each marker is a filled circle of 11 px; the legend (upper left) holds one more of each, so the rightmost pixels are the markers'.
        double RightmostX(ScottPlot.Color c) => picture.Near(c, 30).Select(p => p.X).DefaultIfEmpty(-1).Max();
        var xs = new[] { Charts.Green, Charts.Red, Charts.Orange, Charts.Purple }.Select(RightmostX).ToArray();
        Assert.IsTrue(xs.All(x => x > 0), "every suggestion is marked: " + string.Join(", ", xs));
        CollectionAssert.AreEqual(xs.Order().ToArray(), xs, "steep < valley < minimum/10 < slide on the log axis: " + string.Join(", ", xs));
    }

    [TestMethod]
    public void Reliability_diagram_puts_the_overconfident_softmax_right_of_the_calibrated_scores()
    {
        // 100 photos, 60 right: the plain softmax says 95% for each (overconfident), the calibrated scores say 60%.
        var labels = Enumerable.Range(0, 100).Select(i => i < 60 ? 0 : 1).ToArray();
        float[] Row(float top) => [top, 1 - top];
        var (ecePlain, plain) = CalibrationError.Compute(labels.Select(_ => Row(0.95f)).ToList(), labels);
        var (eceCalibrated, calibrated) = CalibrationError.Compute(labels.Select(_ => Row(0.6f)).ToList(), labels);
        Assert.AreEqual(0.35, ecePlain, 1e-6);
        Assert.AreEqual(0.0, eceCalibrated, 1e-6);
        var path = _temp.Combine("reliability.png");
        ReliabilityDiagram.Save(new CalibrationReport(2.5, ecePlain, eceCalibrated, plain, calibrated), path);

        var picture = Load(path);
        Assert.AreEqual((ReliabilityDiagram.DefaultWidth, ReliabilityDiagram.DefaultHeight), (picture.Width, picture.Height));
        Assert.IsTrue(picture.DarkIn(0, 35) > 25, "the title is drawn above the plot");
        var before = picture.Near(Charts.Orange).ToList();
        var after = picture.Near(Charts.Blue).ToList();
        // Both points are at accuracy 0.6 (the same height); the legend's sample lines are small beside the 22-px markers.
        Assert.IsTrue(Median(before.Select(p => p.X)) > Median(after.Select(p => p.X)) + 100, "confidence 0.95 is right of 0.6");
        Assert.AreEqual(Median(before.Select(p => p.Y)), Median(after.Select(p => p.Y)), 8, "both at accuracy 0.6");
        Assert.IsTrue(picture.Near(Charts.Grey, 30).Count() > 200, "the diagonal is drawn");
    }

    [TestMethod]
    public void Confusion_matrix_puts_actual_classes_down_and_predicted_across()
    {
        // Only "c" was predicted often (as c): its dark cell is the lower right one; the one confusion (a as b) is pale.
        var counts = new int[3, 3];
        counts[2, 2] = 20;
        counts[0, 1] = 1;
        string[] names = ["a", "b", "c"];
        var path = _temp.Combine("confusion_matrix.png");
        ConfusionMatrixPlot.Save(counts, names, path);

        var picture = Load(path);
        Assert.AreEqual(ConfusionMatrixPlot.Measure(counts, names), (picture.Width, picture.Height));
        Assert.IsTrue(picture.DarkIn(0, 35) > 25, "the title is drawn above the matrix");
        var darkest = picture.Near(new ScottPlot.Color(8, 48, 107), 30).ToList();
        Assert.IsTrue(darkest.Count >= ConfusionMatrixPlot.MinCell * ConfusionMatrixPlot.MinCell / 2, $"the full cell is dark blue: {darkest.Count} pixels");
        var pale = picture.Near(new ScottPlot.Color(247, 251, 255), 6).ToList(); // the zero cells, not the white page (distance 12)
        Assert.IsTrue(Median(darkest.Select(p => p.X)) > Median(pale.Select(p => p.X)), "the dark cell is right of the matrix's middle");
        Assert.IsTrue(Median(darkest.Select(p => p.Y)) > Median(pale.Select(p => p.Y)), "the dark cell is below the matrix's middle");
    }
}
