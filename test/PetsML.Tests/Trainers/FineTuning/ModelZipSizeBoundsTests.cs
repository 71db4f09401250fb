using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using PetsML.Tests.Host;
using PetsML.Tests.Support;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// Every size a model .zip declares, raised past its bound by editing a few bytes of a real saved model (the chain
/// <c>petsml train</c> saves, and the drop-in one whose classifier presizes and augments itself): each is refused when
/// the model is loaded, before anything is sized by it (the managed bytes allocated by the load are counted), with
/// the limit named in the message.
/// </summary>
[TestClass]
public sealed class ModelZipSizeBoundsTests
{
    /// <summary>Saves the model of <paramref name="kind"/> (see <see cref="TtaTransformTests.SaveModel"/>): Presize 48, augment 32.</summary>
    static string Save(TempFolder folder, string kind, string name)
    {
        var ml = new MLContext(seed: 0).RegisterPetsML();
        var images = folder.Combine("images");
        if (!Directory.Exists(images)) TestImages.WriteShapeDataset(images, perClass: 2, width: 64, height: 56);
        return TtaTransformTests.SaveModel(ml, ml.Data.LoadImageFiles(images), kind, folder.Combine(name));
    }

    /// <summary>
    /// Rewrites, in the entry whose header carries <paramref name="signature"/>, the bytes found after
    /// <paramref name="marker"/> (plus <paramref name="skip"/> bytes) with <paramref name="value"/>.
    /// </summary>
    static void Patch(string path, string signature, byte[] marker, int skip, byte[] value)
        => Patch(path, signature, bytes => bytes.AsSpan().IndexOf(marker), skip, value);

    static void Patch(string path, string signature, Func<byte[], int> locate, int skip, byte[] value)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        foreach (var entry in zip.Entries.Where(e => e.Name.Equals("Model.key", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            byte[] bytes;
            using (var s = entry.Open()) { var m = new MemoryStream(); s.CopyTo(m); bytes = m.ToArray(); }
            if (bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(signature)) < 0) continue;
            int at = locate(bytes);
            Assert.IsGreaterThanOrEqualTo(0, at, $"the field is where {signature}'s Save writes it");
            value.CopyTo(bytes, at + skip);
            var name = entry.FullName;
            entry.Delete();
            using var s2 = zip.CreateEntry(name).Open();
            s2.Write(bytes);
            return;
        }
        Assert.Fail($"no entry of {signature}");
    }

    static byte[] Int32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); return b; }
    static byte[] Int64(long v) { var b = new byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, v); return b; }
    static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Presize's size 48 then Width 0, Height 0 (unset), Method, PadMode, then MaxPixels.</summary>
    static readonly byte[] PresizeSize = Concat(Int32(48), Int32(0), Int32(0));
    /// <summary>The augment size 32 then MinScale 0.75.</summary>
    static readonly byte[] AugmentSize = Concat(Int32(32), BitConverter.GetBytes(0.75));

    static void AssertRefused(string path, TempFolder folder, params string[] expected)
    {
        var (e, allocated, tensors, _) = HostileModelZipTests.LoadRefused(path, folder);
        foreach (var text in expected) StringAssert.Contains(e.Message, text);
        Assert.AreEqual(0, tensors, "no tensor is created");
        Assert.IsLessThan(16L << 20, allocated, $"managed bytes allocated: {allocated:N0}");
    }

    [TestMethod]
    [DataRow("normalized")]
    [DataRow("raw")]
    public void Presize_sizes_and_pixel_limit_past_their_bounds_are_refused_at_load(string kind)
    {
        using var folder = new TempFolder("petsml-zip-bounds");
        var path = Save(folder, kind, "size.zip");
        Patch(path, "PETS" + (kind == "raw" ? "CLSF" : "PRSZ"), PresizeSize, 0, Int32(8000));
        AssertRefused(path, folder, "The Presize step in this model .zip declares a size of 8,000 (at least 1, at most 4,096, ModelFileLimits.MaxImageSide)");

        path = Save(folder, kind, "width.zip");
        Patch(path, "PETS" + (kind == "raw" ? "CLSF" : "PRSZ"), PresizeSize, 4, Int32(100_000));
        AssertRefused(path, folder, "declares a width of 100,000 (at least 1, at most 4,096");

        path = Save(folder, kind, "pixels.zip");
        Patch(path, "PETS" + (kind == "raw" ? "CLSF" : "PRSZ"), PresizeSize, 20, Int64(100_000_000));
        AssertRefused(path, folder, "declares MaxPixels 100,000,000 (at least 1, at most 89,478,485, ModelFileLimits.MaxDecodePixels)");
    }

    [TestMethod]
    public void An_augment_size_past_its_bound_or_unlike_the_classifiers_is_refused_at_load()
    {
        using var folder = new TempFolder("petsml-zip-bounds");
        var path = Save(folder, "normalized", "augment.zip");
        Patch(path, "PETSAUGM", AugmentSize, 0, Int32(8000));
        AssertRefused(path, folder, "The AugmentImages step in this model .zip declares an augment size of 8,000 (at least 1, at most 4,096, ModelFileLimits.MaxImageSide)");

        path = Save(folder, "raw", "classifier-augment.zip");
        Patch(path, "PETSCLSF", AugmentSize, 0, Int32(8000));
        AssertRefused(path, folder, "The image classifier step in this model .zip declares an augment size of 8,000 (at least 1, at most 4,096");

        // Within the bound but not the classifier's own image size: the message says so.
        path = Save(folder, "raw", "mismatch.zip");
        Patch(path, "PETSCLSF", AugmentSize, 0, Int32(4000));
        AssertRefused(path, folder, "declares an augment size of 4000 but an image size of 32");
    }

    [TestMethod]
    public void Label_and_split_counts_past_their_bounds_are_refused_before_an_array_is_sized()
    {
        using var folder = new TempFolder("petsml-zip-bounds");
        // The label vocabulary: its count (3) precedes the first name in ordinal order, "Red_disc".
        byte[] vocabulary = Concat(Int32(3), [8], "Red_disc"u8.ToArray());
        var path = Save(folder, "normalized", "labels.zip");
        Patch(path, "PETSLABL", vocabulary, 0, Int32(int.MaxValue));
        AssertRefused(path, folder, "declares 2,147,483,647 labels (at most 30,000, ModelFileLimits.MaxLabels)");
        path = Save(folder, "normalized", "labels-room.zip");
        Patch(path, "PETSLABL", vocabulary, 0, Int32(29_000));
        AssertRefused(path, folder, "declares 29,000 labels but has room for fewer");

        // The split's validation keys: half of 6 photos, so the count 3 precedes the first key (a photo's name).
        static int SplitCount(byte[] b)
        {
            for (int i = 0; i + 5 < b.Length; i++)
                if (BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(i)) == 3 && i + 5 + b[i + 4] <= b.Length
                    && System.Text.Encoding.ASCII.GetString(b, i + 5, b[i + 4]).EndsWith(".jpg", StringComparison.Ordinal))
                    return i;
            return -1;
        }
        path = Save(folder, "normalized", "split.zip");
        Patch(path, "PETSSPLT", SplitCount, 0, Int32(20_000_000));
        AssertRefused(path, folder, "The RandomSplit step in this model .zip declares 20,000,000 validation keys (at most 10,000,000, ModelFileLimits.MaxSplitKeys)");
        path = Save(folder, "normalized", "split-room.zip");
        Patch(path, "PETSSPLT", SplitCount, 0, Int32(9_000_000));
        AssertRefused(path, folder, "declares 9,000,000 validation keys but has room for fewer");
    }

    [TestMethod]
    public void Through_the_host_an_augment_size_unlike_the_classifiers_is_refused_at_load_saying_so()
    {
        using var folder = new TempFolder("petsml-zip-bounds");
        var path = Save(folder, "normalized", "mismatch.zip");
        Patch(path, "PETSAUGM", AugmentSize, 0, Int32(40));
        var image = Directory.GetFiles(folder.Combine("images"))[0];
        var result = HostRunner.Run("predict", "--model", path, image);
        Assert.AreEqual(1, result.ExitCode, result.Out + result.Error);
        StringAssert.Contains(result.Error, "--model: '" + path + "'");
        StringAssert.Contains(result.Error, "3×32×32");
        Assert.DoesNotContain("cannot be read as an image", result.Error);
    }
}
