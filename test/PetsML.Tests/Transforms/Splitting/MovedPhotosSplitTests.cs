using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;

namespace PetsML.Tests.Transforms.Splitting;

/// <summary>
/// A saved split keeps its validation photos when the photos move: a model trained in one folder and evaluated on a copy
/// elsewhere (another machine, a deployed app) must validate on the same photos, not on none.
/// </summary>
[TestClass]
public sealed class MovedPhotosSplitTests
{
    static string[] ValidationNames(IDataView view, string root) =>
        view.GetColumn<string>("ImagePath").Zip(view.GetColumn<float>("IsValidation"))
            .Where(row => row.Second == 1f).Select(row => Path.GetRelativePath(root, row.First).Replace('\\', '/')).Order().ToArray();

    [TestMethod]
    public void A_saved_split_finds_the_same_validation_photos_in_a_copy_of_the_folder()
    {
        using var temp = new TempFolder("petsml-moved");
        var original = temp.Combine("original", "images");
        TestImages.WriteShapeDataset(original, perClass: 5);
        // One class in a sub-folder, so relative keys of more than one level are matched too.
        Directory.CreateDirectory(Path.Combine(original, "more"));
        foreach (var file in Directory.GetFiles(original, "green_*"))
            File.Move(file, Path.Combine(original, "more", Path.GetFileName(file)));

        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(original);
        var split = ml.Transforms.RandomSplit(validPct: 0.4, seed: 3).Fit(data);
        var expected = ValidationNames(split.Transform(data), original);
        Assert.AreEqual(6, expected.Length, "int(0.4 * 15) validation photos where they were fitted");
        var zip = temp.Combine("split.zip");
        ml.Model.Save(split, data.Schema, zip);

        var copy = temp.Combine("elsewhere", "copy of images");
        foreach (var file in Directory.GetFiles(original, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(original, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var loaded = new MLContext().Model.Load(zip, out _);
        var moved = ml.Data.LoadImageFiles(copy);
        CollectionAssert.AreEqual(expected, ValidationNames(loaded.Transform(moved), copy), "the same photos validate in the copy");
        CollectionAssert.AreEqual(expected, ValidationNames(loaded.Transform(data), original), "and still where they were fitted");
    }

    [TestMethod]
    public void Where_it_was_fitted_the_split_matches_whole_relative_paths_only()
    {
        // The same file name at two depths: under the fitted folder only the exact relative path may count, so the
        // validation rows are exactly the permutation's, whatever names they share with training rows.
        var paths = Enumerable.Range(0, 20).SelectMany(i => new[] { $"/data/r/a{i}.jpg", $"/data/r/sub/a{i}.jpg" }).Order(StringComparer.Ordinal).ToArray();
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new ImageFileRow { ImagePath = p }));
        var output = ml.Transforms.RandomSplit(validPct: 0.2, seed: 42).Fit(data).Transform(data);
        var expected = RandomSplitEstimator.ValidationIndices(paths.Length, 0.2, 42).Select(i => paths[i]).Order().ToArray();
        var actual = paths.Zip(output.GetColumn<float>("IsValidation")).Where(r => r.Second == 1f).Select(r => r.First).Order().ToArray();
        CollectionAssert.AreEqual(expected, actual);
    }

    [TestMethod]
    public void A_split_saved_before_keys_were_relative_still_matches_its_Windows_paths()
    {
        // Format 0x00010001 stored whole paths as they were read and no folder; Load hands them to the transformer as
        // they are, so this is what loading such a model builds.
        var split = new RandomSplitTransformer("IsValidation", "ImagePath", root: "",
            new HashSet<string>(StringComparer.Ordinal) { @"C:\Users\me\photos\cat_1.jpg" });
        var ml = new MLContext();
        var rows = ml.Data.LoadFromEnumerable(new[] { @"C:\Users\me\photos\cat_1.jpg", @"C:\Users\me\photos\cat_2.jpg" }
            .Select(p => new ImageFileRow { ImagePath = p }));
        CollectionAssert.AreEqual(new[] { 1f, 0f }, split.Transform(rows).GetColumn<float>("IsValidation").ToArray());
    }

    [TestMethod]
    public void A_split_fitted_on_Windows_paths_matches_the_same_photos_on_Linux_paths()
    {
        var names = Enumerable.Range(0, 25).Select(i => $"cat_{i}.jpg").ToArray();
        var ml = new MLContext();
        var windows = ml.Data.LoadFromEnumerable(names.Select(n => new ImageFileRow { ImagePath = $@"C:\Users\me\photos\{n}" }));
        var linux = ml.Data.LoadFromEnumerable(names.Select(n => new ImageFileRow { ImagePath = $"/home/me/photos/{n}" }));
        var split = ml.Transforms.RandomSplit(seed: 5).Fit(windows);
        var onWindows = split.Transform(windows).GetColumn<float>("IsValidation").ToArray();
        Assert.AreEqual(5, onWindows.Count(v => v == 1f));
        CollectionAssert.AreEqual(onWindows, split.Transform(linux).GetColumn<float>("IsValidation").ToArray());
    }
}
