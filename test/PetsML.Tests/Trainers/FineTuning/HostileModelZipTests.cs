using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Transforms.Interop.MlNet;
using TorchSharp;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// Model .zips edited to hurt: a class count the head would be sized from, a weights entry that inflates far past the
/// model's size. Each is refused with an <see cref="InvalidDataException"/> saying what is wrong, before the large
/// allocation: the test counts the managed bytes allocated during the load, the tensors created, and samples how much
/// ML.NET's temporary folder holds while it loads.
/// </summary>
[TestClass]
public sealed class HostileModelZipTests
{
    const int Size = 32;

    sealed class Row
    {
        [VectorType(3 * Size * Size)] public float[] Features { get; set; } = new float[3 * Size * Size];
    }

    /// <summary>A real PetsML classifier .zip (random ResNet-18, three classes), as mlContext.Model.Save writes it.</summary>
    static void SaveModel(string path)
    {
        var ml = new MLContext(seed: 0).RegisterPetsML();
        var model = ImageClassifier.Create(ResNetArchitecture.ResNet18, 3, seed: 0, pretrained: false);
        using var transformer = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet18, ["a", "b", "c"], "Features", Size, "cpu", null);
        ml.Model.Save(transformer, ml.Data.LoadFromEnumerable(new[] { new Row() }).Schema, path);
    }

    /// <summary>The classifier's main entry (Model.key of the component whose header says PETSCLSF).</summary>
    static ZipArchiveEntry ClassifierEntry(ZipArchive zip) => zip.Entries.Single(e =>
    {
        if (!e.Name.Equals("Model.key", StringComparison.OrdinalIgnoreCase)) return false;
        using var s = e.Open();
        var bytes = new MemoryStream();
        s.CopyTo(bytes);
        return bytes.ToArray().AsSpan().IndexOf("PETSCLSF"u8) >= 0;
    });

    /// <summary>Rewrites the class count the classifier entry declares (it follows the feature column name and the image size).</summary>
    static void SetClassCount(string path, int count)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = ClassifierEntry(zip);
        byte[] bytes;
        using (var s = entry.Open()) { var m = new MemoryStream(); s.CopyTo(m); bytes = m.ToArray(); }
        byte[] marker = [8, .. "Features"u8.ToArray(), Size, 0, 0, 0];
        int at = bytes.AsSpan().IndexOf(marker);
        Assert.IsGreaterThanOrEqualTo(0, at, "the feature column and image size are where Save writes them");
        Assert.AreEqual(3, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at + marker.Length)));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at + marker.Length), count);
        var name = entry.FullName;
        entry.Delete();
        using var s2 = zip.CreateEntry(name).Open();
        s2.Write(bytes);
    }

    /// <summary>Replaces the classifier's Weights.dat with <paramref name="zeros"/> deflated zero bytes.</summary>
    static void SetWeights(string path, long zeros)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.Entries.Single(e => e.Name == "Weights.dat");
        var name = entry.FullName;
        entry.Delete();
        using var s = zip.CreateEntry(name, CompressionLevel.SmallestSize).Open();
        var chunk = new byte[1 << 20];
        for (long left = zeros; left > 0; left -= chunk.Length) s.Write(chunk, 0, (int)Math.Min(left, chunk.Length));
    }

    /// <summary>
    /// Loads <paramref name="path"/> with TMPDIR pointing at a fresh folder, sampling that folder's size every few
    /// milliseconds, and returns the refusal with the managed bytes allocated, tensors created and the most bytes
    /// seen on disk.
    /// </summary>
    internal static (InvalidDataException Error, long Allocated, long Tensors, long MostOnDisk) LoadRefused(string path, TempFolder temp)
    {
        var tmp = temp.Combine("tmp");
        Directory.CreateDirectory(tmp);
        var saved = Environment.GetEnvironmentVariable("TMPDIR");
        long most = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { most = Math.Max(most, Directory.EnumerateFiles(tmp, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)); }
                catch (IOException) { } // a file vanished between listing and measuring
                Thread.Sleep(2);
            }
        });
        var ml = new MLContext(seed: 0).RegisterPetsML();
        Environment.SetEnvironmentVariable("TMPDIR", tmp);
        try
        {
            using var scope = torch.NewDisposeScope();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<Exception>(() => ml.Model.Load(path, out _));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            var refusal = e as InvalidDataException ?? e.InnerException as InvalidDataException ?? e.GetBaseException() as InvalidDataException;
            Assert.IsNotNull(refusal, $"an InvalidDataException, got {e}");
            return (refusal, allocated, scope.DisposablesCount, most);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TMPDIR", saved);
            stop.Cancel();
            sampler.Wait();
        }
    }

    [TestMethod]
    public void A_model_zip_declaring_500000_classes_is_refused_before_the_head_is_built()
    {
        using var temp = new TempFolder("petsml-hostile-zip");
        var path = temp.Combine("model.zip");
        SaveModel(path);
        SetClassCount(path, 500_000);
        var (e, allocated, tensors, _) = LoadRefused(path, temp);
        StringAssert.Contains(e.Message, "declares 500,000 classes (at least 1, at most 30,000)");
        Assert.AreEqual(0, tensors, "no tensor is created");
        Assert.IsLessThan(16L << 20, allocated, $"managed bytes allocated: {allocated:N0}");

        // A count within the bound that the entry has no room for is refused before the names array.
        SaveModel(path = temp.Combine("model2.zip"));
        SetClassCount(path, 29_000);
        (e, _, tensors, _) = LoadRefused(path, temp);
        StringAssert.Contains(e.Message, "declares 29,000 classes but has room for fewer names");
        Assert.AreEqual(0, tensors);
    }

    [TestMethod]
    public void A_weights_entry_that_inflates_past_the_model_size_is_refused_without_extracting_it()
    {
        using var temp = new TempFolder("petsml-hostile-zip");
        var path = temp.Combine("model.zip");
        SaveModel(path);
        SetWeights(path, 256L << 20); // the issue's 2 GiB, scaled down: still 5x the 45 MB model
        Assert.IsLessThan(4L << 20, new FileInfo(path).Length);
        var (e, allocated, _, mostOnDisk) = LoadRefused(path, temp);
        StringAssert.Contains(e.Message, "has a 'Weights.dat' entry the model cannot hold");
        StringAssert.Contains(e.Message, "declares 268,435,456 bytes, more than the");
        Assert.IsLessThan(16L << 20, allocated, $"managed bytes allocated: {allocated:N0}");
        Assert.IsLessThan(1L << 20, mostOnDisk, $"bytes seen in the temporary folder: {mostOnDisk:N0}");

        // Weights of the right size but the wrong shapes (zeros: no tensor header) are refused by the header check.
        SaveModel(path = temp.Combine("model2.zip"));
        SetWeights(path, 4096);
        (e, _, _, _) = LoadRefused(path, temp);
        StringAssert.Contains(e.Message, "The image classifier in this model .zip has weights that do not fit the model");
    }

    [TestMethod]
    public void A_model_zip_declaring_too_many_outlier_feature_rows_is_refused_before_reading_them()
    {
        using var temp = new TempFolder("petsml-hostile-zip");
        var path = temp.Combine("model.zip");
        // A calibration with 3 stored training features (unit vectors of ResNet-18's 1,024 pooled features).
        var ml = new MLContext(seed: 0).RegisterPetsML();
        var model = ImageClassifier.Create(ResNetArchitecture.ResNet18, 3, seed: 0, pretrained: false);
        var rows = new float[3 * 1024];
        for (int r = 0; r < 3; r++) rows[r * 1024 + r] = 1;
        using (var transformer = new ImageClassifierTransformer(model, ResNetArchitecture.ResNet18, ["a", "b", "c"], "Features", Size, "cpu", null)
        { Calibration = new ScoreCalibration(1, 0.95f, 1.2f, rows, 1024) })
            ml.Model.Save(transformer, ml.Data.LoadFromEnumerable(new[] { new Row() }).Schema, path);

        var loaded = (ImageClassifierTransformer)new MLContext(seed: 0).RegisterPetsML().Model.Load(path, out _);
        CollectionAssert.AreEqual(rows, loaded.Calibration!.FeatureRows, "the rows load back as written");
        loaded.Dispose();

        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = ClassifierEntry(zip);
            byte[] bytes;
            using (var s = entry.Open()) { var m = new MemoryStream(); s.CopyTo(m); bytes = m.ToArray(); }
            byte[] counts = [3, 0, 0, 0, 0, 4, 0, 0]; // rows 3, features 1,024
            int at = bytes.AsSpan().IndexOf(counts);
            Assert.IsGreaterThanOrEqualTo(0, at, "the row and feature counts are where Save writes them");
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), 2_000_000);
            var name = entry.FullName;
            entry.Delete();
            using var s2 = zip.CreateEntry(name).Open();
            s2.Write(bytes);
        }
        var (e, allocated, tensors, _) = LoadRefused(path, temp);
        StringAssert.Contains(e.Message, "declares 2,000,000 outlier feature rows (at most 1,000, ModelFileLimits.MaxOutlierFeatureRows)");
        StringAssert.StartsWith(e.Message, "The image classifier in this model .zip");
        Assert.AreEqual(0, tensors, "no tensor is created");
        Assert.IsLessThan(16L << 20, allocated, $"managed bytes allocated: {allocated:N0}");
    }

    [TestMethod]
    public void A_saved_model_still_loads_with_the_same_weights_and_classes()
    {
        using var temp = new TempFolder("petsml-hostile-zip");
        var path = temp.Combine("model.zip");
        SaveModel(path);
        var ml = new MLContext(seed: 0).RegisterPetsML();
        var loaded = ml.Model.Load(path, out _);
        var classifier = (ImageClassifierTransformer)loaded;
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, classifier.ClassNames.ToArray());
        using var expected = ImageClassifier.Create(ResNetArchitecture.ResNet18, 3, seed: 0, pretrained: false);
        foreach (var (name, tensor) in expected.state_dict())
            Assert.IsTrue(tensor.allclose(classifier.Model.state_dict()[name], rtol: 0, atol: 0), name);
        classifier.Dispose();
    }

    [TestMethod]
    public void Through_the_host_every_bad_zip_is_one_printable_line_naming_the_file_and_the_reason()
    {
        using var temp = new TempFolder("petsml-hostile-zip");
        var random = new Random(5);
        byte[] Garbage(int n) { var b = new byte[n]; random.NextBytes(b); return b; }
        var cases = new List<(string Name, string Reason)>();

        File.WriteAllBytes(temp.Combine("random.zip"), Garbage(4096));
        cases.Add(("random.zip", ""));
        File.WriteAllBytes(temp.Combine("header.zip"), [.. "PK\u0003\u0004"u8.ToArray(), .. Garbage(4096)]);
        cases.Add(("header.zip", ""));
        using (var zip = ZipFile.Open(temp.Combine("key.zip"), ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("TransformerChain/Model.key").Open()) s.Write(Garbage(4096));
            using (var s = zip.CreateEntry("TrainingInfo/Version.txt").Open()) s.Write("1.0.0.0\n"u8);
        }
        cases.Add(("key.zip", ""));
        using (var zip = ZipFile.Open(temp.Combine("big-key.zip"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("TransformerChain/Model.key", CompressionLevel.SmallestSize).Open())
            for (int i = 0; i < 128; i++) s.Write(new byte[1 << 20]);
        cases.Add(("big-key.zip", "entry 'TransformerChain/Model.key' declares 134,217,728 bytes"));
        var classes = temp.Combine("classes.zip");
        SaveModel(classes);
        SetClassCount(classes, 500_000);
        cases.Add(("classes.zip", "declares 500,000 classes"));

        foreach (var (name, reason) in cases)
        {
            var path = temp.Combine(name);
            var e = Assert.ThrowsExactly<PetsML.Host.Cli.BadInputException>(() => PetsML.Host.Commands.Shared.SavedModel.Load(new MLContext(seed: 0), path), name);
            StringAssert.StartsWith(e.Message, $"--model: '{path}' is not a model .zip PetsML can read (", name);
            StringAssert.Contains(e.Message, reason, name);
            Assert.IsFalse(e.Message.Any(c => char.IsControl(c) || c == '\uFFFD'), $"{name}: printable, one line: {e.Message}");
        }
    }

    /// <summary>
    /// A .zip refused by petsml's --model loader leaves nothing in the temporary folder: ML.NET makes a folder there for
    /// the entries it extracts and does not delete it when it cannot read the archive, so a file that is not a zip at
    /// all is refused before ML.NET opens it.
    /// </summary>
    [TestMethod]
    public void A_refused_model_zip_leaves_nothing_in_the_temporary_folder()
    {
        using var temp = new TempFolder("petsml-hostile-zip");
        var random = new Random(6);
        var garbage = new byte[4096];
        random.NextBytes(garbage);
        File.WriteAllBytes(temp.Combine("random.zip"), garbage);
        File.WriteAllBytes(temp.Combine("header.zip"), [.. "PK\u0003\u0004"u8.ToArray(), .. garbage]);
        File.WriteAllBytes(temp.Combine("empty.zip"), []);
        using (var zip = ZipFile.Open(temp.Combine("key.zip"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("TransformerChain/Model.key").Open()) s.Write(garbage);
        SaveModel(temp.Combine("classes.zip"));
        SetClassCount(temp.Combine("classes.zip"), 500_000);
        var tmp = temp.Combine("tmp");
        Directory.CreateDirectory(tmp);
        var saved = Environment.GetEnvironmentVariable("TMPDIR");
        Environment.SetEnvironmentVariable("TMPDIR", tmp);
        try
        {
            foreach (var name in new[] { "random.zip", "header.zip", "empty.zip", "key.zip", "classes.zip" })
            {
                var e = Assert.ThrowsExactly<PetsML.Host.Cli.BadInputException>(() => PetsML.Host.Commands.Shared.SavedModel.Load(new MLContext(seed: 0), temp.Combine(name)), name);
                StringAssert.Contains(e.Message, "is not a model .zip PetsML can read", name);
                var left = Directory.EnumerateFileSystemEntries(tmp).Select(Path.GetFileName).ToList();
                Assert.IsEmpty(left, $"{name}: left in the temporary folder: {string.Join(", ", left)}");
            }
        }
        finally { Environment.SetEnvironmentVariable("TMPDIR", saved); }
    }
}
