using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Labeling;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Pipeline;

/// <summary>The whole data side as an ordinary ML.NET pipeline: files -> label -> split -> presize -> augment.</summary>
[TestClass]
public sealed class DataPipelineTests
{
    const int PerClass = 10; // 30 images

    static TempFolder _folder = null!;

    [ClassInitialize]
    public static void MakeImages(TestContext _)
    {
        _folder = new TempFolder("petsml-pipeline");
        TestImages.WriteShapeDataset(_folder.Combine("images"), PerClass);
    }

    [ClassCleanup]
    public static void RemoveImages() => _folder.Dispose();

    static IEstimator<ITransformer> Pipeline(MLContext ml, int presize = 64, int size = 48)
        => ml.Transforms.LabelFromFileName(pattern: @"(.+)_\d+.jpg$")
            .Append(ml.Transforms.RandomSplit(validPct: 0.2, seed: 42))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = presize }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = size }));

    [TestMethod]
    public void AugmentBatch_draws_a_seeded_training_batch_without_a_learner()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        var model = (IEnumerable<ITransformer>)Pipeline(ml).Fit(data);
        var augment = model.OfType<AugmentTransformer>().Single();
        var output = ((ITransformer)model).Transform(data);
        var rows = ml.Data.Cache(ml.Data.TakeRows(ml.Data.TrainingRows(output), 5));

        using var first = augment.AugmentBatch(rows, 4, seed: 7);
        using var again = augment.AugmentBatch(rows, 4, seed: 7);
        using var other = augment.AugmentBatch(rows, 4, seed: 8);
        CollectionAssert.AreEqual(new long[] { 4, 3, 48, 48 }, first.shape);
        Assert.AreEqual(TorchSharp.torch.ScalarType.Float32, first.dtype);
        Assert.IsTrue(first.allclose(again, rtol: 0, atol: 0), "the same seed and rows give the same batch");
        Assert.IsFalse(first.allclose(other, rtol: 0, atol: 1e-3), "another seed draws other augmentations");

        // The training path is random; the ML.NET column is the validation path of the same rows.
        using var validation = TorchSharp.torch.tensor(rows.GetColumn<float[]>("Features").Take(4).SelectMany(v => v).ToArray(), new long[] { 4, 3, 48, 48 });
        Assert.IsFalse(first.allclose(validation, rtol: 0, atol: 1e-3), "AugmentBatch applies the training augmentation, not the validation crop");

        using var all = augment.AugmentBatch(rows, 100);
        Assert.AreEqual(5L, all.shape[0], "fewer rows than asked for give a smaller batch");
        var noColumn = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => augment.AugmentBatch(data, 2));
        StringAssert.Contains(noColumn.Message, "Image");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => augment.AugmentBatch(rows, 0));
    }

    [TestMethod]
    public void Pipeline_labels_splits_presizes_and_augments()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        var model = Pipeline(ml).Fit(data);
        var output = model.Transform(data);

        var label = output.Schema["Label"];
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        label.GetKeyValues(ref keyValues);
        CollectionAssert.AreEqual(new[] { "Red_disc", "blue_triangle", "green_square" }, keyValues.DenseValues().Select(v => v.ToString()).ToArray(),
            "vocabulary in ordinal order: capitalised names first");

        var features = output.Schema["Features"].Type as VectorDataViewType;
        Assert.IsNotNull(features);
        CollectionAssert.AreEqual(new[] { 3, 48, 48 }, features.Dimensions.ToArray());
        Assert.AreEqual(3 * 64 * 64, ((VectorDataViewType)output.Schema["Image"].Type).Size);

        var split = output.GetColumn<float>("IsValidation").ToArray();
        Assert.AreEqual((int)(0.2 * 3 * PerClass), split.Count(v => v == 1f), "int(valid_pct * n) validation rows");
        Assert.AreEqual(3 * PerClass - (int)(0.2 * 3 * PerClass), ml.Data.TrainingRows(output).GetColumn<float>("IsValidation").Count());

        var firstFeatures = output.GetColumn<float[]>("Features").First();
        Assert.AreEqual(3 * 48 * 48, firstFeatures.Length);
        Assert.IsTrue(firstFeatures.Any(v => v != 0f));
    }

    [TestMethod]
    public void The_split_is_the_same_on_every_fit_and_depends_on_the_seed()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        float[] SplitWith(int seed) => ml.Transforms.RandomSplit(seed: seed).Fit(data).Transform(data).GetColumn<float>("IsValidation").ToArray();
        CollectionAssert.AreEqual(SplitWith(42), SplitWith(42));
        CollectionAssert.AreNotEqual(SplitWith(42), SplitWith(7));
    }

    [TestMethod]
    public void Estimator_schema_matches_the_fitted_transformer_schema()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        var estimator = Pipeline(ml);
        var predicted = estimator.GetOutputSchema(MlNetInternals.ShapeOf(data.Schema));
        var actual = estimator.Fit(data).GetOutputSchema(data.Schema);
        foreach (var column in actual)
        {
            var shape = predicted.Single(c => c.Name == column.Name);
            Assert.AreEqual(column.Type is KeyDataViewType, shape.IsKey, column.Name);
            Assert.AreEqual((column.Type is VectorDataViewType v ? v.ItemType : column.Type).RawType, shape.ItemType.RawType, column.Name);
        }
    }

    [TestMethod]
    public void Wrong_input_column_types_are_named()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(new[] { new { ImagePath = 3f } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.LabelFromFileName().GetOutputSchema(MlNetInternals.ShapeOf(data.Schema)));
        StringAssert.Contains(e.Message, "ImagePath");
        StringAssert.Contains(e.Message, "text");
        var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.AugmentImages().GetOutputSchema(MlNetInternals.ShapeOf(data.Schema)));
        StringAssert.Contains(e2.Message, "Image");
    }

    [TestMethod]
    public void Unmatched_file_names_fail_with_examples_or_are_counted_when_asked()
    {
        using var folder = new TempFolder();
        TestImages.WriteShapeDataset(folder.Path, 2);
        File.Copy(Directory.GetFiles(folder.Path)[0], Path.Combine(folder.Path, "no-number-here.jpg"));
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(folder.Path);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.LabelFromFileName().Fit(data));
        StringAssert.Contains(e.Message, "no-number-here.jpg");
        StringAssert.Contains(e.Message, "1 file name");

        var skipping = ml.Transforms.LabelFromFileName(unlabeled: UnlabeledFiles.Skip).Fit(data);
        Assert.AreEqual(1, skipping.UnlabeledCount);
        var keys = skipping.Transform(data).GetColumn<uint>("Label").ToArray();
        Assert.AreEqual(1, keys.Count(k => k == 0), "the unmatched file gets a missing key");
    }

    [TestMethod]
    public void Folder_labels_and_folder_split()
    {
        using var folder = new TempFolder();
        foreach (var (split, cls) in new[] { ("train", "cat"), ("train", "dog"), ("valid", "cat"), ("valid", "dog") })
        {
            Directory.CreateDirectory(folder.Combine(split, cls));
            using var bitmap = TestImages.Gradient(20, 20);
            TestImages.Save(bitmap, folder.Combine(split, cls, "x.png"), SkiaSharp.SKEncodedImageFormat.Png);
        }
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(folder.Path);
        var output = ml.Transforms.LabelFromFolderName().Append(ml.Transforms.SplitByFolder()).Fit(data).Transform(data);
        CollectionAssert.AreEqual(new uint[] { 1, 2, 1, 2 }, output.GetColumn<uint>("Label").ToArray());
        CollectionAssert.AreEqual(new[] { 0f, 0f, 1f, 1f }, output.GetColumn<float>("IsValidation").ToArray());
    }

    [TestMethod]
    public void Raw_bytes_and_MLImage_columns_presize_like_paths()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        var options = new PresizeOptions { Size = 32 };
        var fromPath = ml.Transforms.Presize(options).Fit(data).Transform(data).GetColumn<byte[]>("Image").First();
        var bytes = ml.Transforms.LoadRawImageBytes("Bytes", null, "ImagePath").Fit(data).Transform(data);
        var fromBytes = ml.Transforms.Presize(options, inputColumnName: "Bytes").Fit(bytes).Transform(bytes).GetColumn<byte[]>("Image").First();
        CollectionAssert.AreEqual(fromPath, fromBytes);
        var images = ml.Transforms.LoadImages("Picture", null, "ImagePath").Fit(data).Transform(data);
        var fromImage = ml.Transforms.Presize(options, inputColumnName: "Picture").Fit(images).Transform(images).GetColumn<byte[]>("Image").First();
        // MLImage decodes through ML.NET's own SkiaSharp path; allow a one-level rounding difference.
        Assert.IsTrue(fromPath.Zip(fromImage).All(p => Math.Abs(p.First - p.Second) <= 2), "MLImage input presizes like the file");
    }

    [TestMethod]
    public void Saved_pipeline_loads_in_process_and_in_a_fresh_process_with_identical_output()
    {
        var ml = new MLContext(seed: 3);
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        var model = Pipeline(ml, presize: 40, size: 32).Fit(data);
        var expected = model.Transform(data);
        using var folder = new TempFolder();
        var path = folder.Combine("pipeline.zip");
        ml.Model.Save(model, data.Schema, path);

        var fresh = new MLContext().RegisterPetsML();
        var loaded = fresh.Model.Load(path, out _).Transform(data);
        CollectionAssert.AreEqual(expected.GetColumn<uint>("Label").ToArray(), loaded.GetColumn<uint>("Label").ToArray());
        CollectionAssert.AreEqual(expected.GetColumn<float>("IsValidation").ToArray(), loaded.GetColumn<float>("IsValidation").ToArray());
        CollectionAssert.AreEqual(expected.GetColumn<float[]>("Features").First(), loaded.GetColumn<float[]>("Features").First());

        var paths = data.GetColumn<string>("ImagePath").Take(4).ToArray();
        var probe = FreshProcess.LoadAndTransform(path, new[] { "Label", "IsValidation", "Features" }, paths);
        var expectedRows = model.Transform(ml.Data.LoadFromEnumerable(paths.Select(p => new PetsML.ImageFileRow { ImagePath = p })));
        CollectionAssert.AreEqual(expectedRows.GetColumn<uint>("Label").ToArray(), probe["Label"].Select(e => e.GetUInt32()).ToArray());
        CollectionAssert.AreEqual(expectedRows.GetColumn<float>("IsValidation").ToArray(), probe["IsValidation"].Select(e => e.GetSingle()).ToArray());
        var expectedFeatures = expectedRows.GetColumn<float[]>("Features").ToArray();
        for (int i = 0; i < paths.Length; i++)
            CollectionAssert.AreEqual(expectedFeatures[i], probe["Features"][i].EnumerateArray().Select(e => e.GetSingle()).ToArray(), $"row {i}");
    }

    [TestMethod]
    public void Loading_needs_no_registration_line_and_the_old_line_is_harmless()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadImageFiles(_folder.Combine("images"));
        var model = ml.Transforms.LabelFromFileName().Fit(data);
        using var folder = new TempFolder();
        var path = folder.Combine("m.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);
        CollectionAssert.AreEqual(model.Transform(data).GetColumn<uint>("Label").ToArray(), loaded.Transform(data).GetColumn<uint>("Label").ToArray());
        var registered = new MLContext().RegisterPetsML().RegisterPetsML();
        CollectionAssert.AreEqual(model.Transform(data).GetColumn<uint>("Label").ToArray(),
            registered.Model.Load(path, out _).Transform(data).GetColumn<uint>("Label").ToArray(), "RegisterPetsML (twice) before Load");
    }
}
