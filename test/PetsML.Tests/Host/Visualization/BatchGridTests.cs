using PetsML.Transforms.Augmentation;
using PetsML.Host.Visualization;
using SkiaSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Host.Visualization;

[TestClass]
public sealed class BatchGridTests
{
    private string _folder = "";

    [TestInitialize]
    public void CreateFolder() =>
        _folder = Directory.CreateTempSubdirectory("petsml-batchgrid-").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>Ten 32×32 images, each one solid colour, normalised with ImageNet statistics.</summary>
    private static Tensor SolidImages(out float[][] colours)
    {
        colours = Enumerable.Range(0, 10).Select(i => new[] { i / 9f, 1 - i / 9f, 0.25f }).ToArray();
        var zeroToOne = stack(colours.Select(c => tensor(c).view(3, 1, 1).expand(3, 32, 32)).ToArray());
        var stats = NormalizationStats.ImageNet;
        return (zeroToOne - tensor(stats.Mean).view(1, 3, 1, 1)) / tensor(stats.Std).view(1, 3, 1, 1);
    }

    [TestMethod]
    public void Writes_a_png_of_the_documented_size_with_images_and_captions()
    {
        using var scope = NewDisposeScope();
        var images = SolidImages(out var colours);
        var captions = Enumerable.Range(0, 10).Select(i => $"class_{i}").ToArray();
        string path = Path.Combine(_folder, "sub", "batch.png");
        BatchGrid.SavePng(images, NormalizationStats.ImageNet, captions, path, columns: 4, maxImages: 16);

        using var bitmap = SKBitmap.Decode(path);
        Assert.IsNotNull(bitmap, "the file decodes as an image");
        int cellWidth = 32 + 2 * BatchGrid.CellMargin, cellHeight = 32 + BatchGrid.CaptionHeight + 2 * BatchGrid.CellMargin;
        Assert.AreEqual(4 * cellWidth, bitmap.Width);
        Assert.AreEqual(3 * cellHeight, bitmap.Height, "10 images in rows of 4 need 3 rows");

        // Image 6 (row 1, column 2): its centre pixel is its colour, denormalised.
        var centre = bitmap.GetPixel(2 * cellWidth + BatchGrid.CellMargin + 16, cellHeight + BatchGrid.CellMargin + 16);
        Assert.AreEqual(colours[6][0] * 255, centre.Red, 1.0);
        Assert.AreEqual(colours[6][1] * 255, centre.Green, 1.0);
        Assert.AreEqual(colours[6][2] * 255, centre.Blue, 1.0);

        // The caption band under image 0 is white with some dark (text) pixels; the last, empty cell is all white.
        int dark = 0, nonWhiteInEmptyCell = 0;
        for (int y = BatchGrid.CellMargin + 32; y < cellHeight; y++)
            for (int x = 0; x < cellWidth; x++)
            {
                if (bitmap.GetPixel(x, y).Red < 100) dark++;
                if (bitmap.GetPixel(3 * cellWidth + x, 2 * cellHeight + y) != SKColors.White) nonWhiteInEmptyCell++;
            }
        Assert.IsTrue(dark > 10, $"caption text is drawn ({dark} dark pixels)");
        Assert.AreEqual(0, nonWhiteInEmptyCell);
        Assert.AreEqual(1, Directory.GetFiles(Path.GetDirectoryName(path)!).Length, "no temporary file is left");
    }

    [TestMethod]
    public void Shows_at_most_max_images_and_replaces_an_existing_file()
    {
        using var scope = NewDisposeScope();
        var images = SolidImages(out _);
        var captions = Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();
        string path = Path.Combine(_folder, "grid.png");
        File.WriteAllText(path, "old");
        BatchGrid.SavePng(images, NormalizationStats.ImageNet, captions, path, columns: 8, maxImages: 3);
        using var bitmap = SKBitmap.Decode(path);
        Assert.AreEqual(3 * (32 + 2 * BatchGrid.CellMargin), bitmap.Width);
        Assert.AreEqual(32 + BatchGrid.CaptionHeight + 2 * BatchGrid.CellMargin, bitmap.Height);
    }

    [TestMethod]
    public void Invalid_arguments_are_refused()
    {
        using var scope = NewDisposeScope();
        var images = SolidImages(out _);
        var stats = NormalizationStats.ImageNet;
        string path = Path.Combine(_folder, "x.png");
        var e = Assert.ThrowsExactly<ArgumentException>(() => BatchGrid.SavePng(images, stats, ["a", "b"], path));
        Assert.AreEqual("captions", e.ParamName);
        var ten = Enumerable.Repeat("x", 10).ToArray();
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BatchGrid.SavePng(images, stats, ten, path, columns: 0));
        Assert.ThrowsExactly<ArgumentException>(() => BatchGrid.SavePng(zeros(10, 1, 8, 8), stats, ten, path));
        Assert.IsFalse(File.Exists(path));
    }
}
