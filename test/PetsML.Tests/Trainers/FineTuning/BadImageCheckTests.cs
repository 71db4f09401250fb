using Microsoft.ML;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// Files that are not images (HTML, text, zero bytes named .jpg) in the training or validation rows are found before the
/// first batch: the trainer refuses them by name, or leaves them out and says which with SkipBadImages (fastai's verify_images).
/// </summary>
[TestClass]
public sealed class BadImageCheckTests
{
    static readonly string[] BadFiles = ["Red_disc_90.jpg", "green_square_91.jpg", "blue_triangle_92.jpg", "Red_disc_93.jpg", "green_square_94.jpg"];

    /// <summary>
    /// A real 8×8 PNG (named .jpg: the format is read from the content) whose IHDR declares 10,000×10,000 (100,000,000 pixels, past the default limit of 89,478,485), with
    /// the chunk's CRC made right again: only its header says it is too large, which the decoder finds during the epoch.
    /// </summary>
    static void WriteOversizedPng(string path)
    {
        using (var small = TestImages.Gradient(8, 8)) TestImages.Save(small, path, SkiaSharp.SKEncodedImageFormat.Png);
        var bytes = File.ReadAllBytes(path);
        // Signature (8), IHDR length (4), "IHDR" (4), width and height big-endian (8), 5 more fields, then the CRC of type + data.
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), 10_000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), 10_000);
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes.AsSpan(12, 17))
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(29), ~crc);
        File.WriteAllBytes(path, bytes);
    }

    static (TempFolder Folder, IDataView Data) DataWithBadFiles()
    {
        var folder = new TempFolder("petsml-bad-images");
        TestImages.WriteShapeDataset(folder.Path, perClass: 6, width: 40, height: 32);
        File.WriteAllText(folder.Combine(BadFiles[0]), "<!DOCTYPE html><html><body>Not Found</body></html>");
        File.WriteAllText(folder.Combine(BadFiles[1]), "just some text");
        File.WriteAllBytes(folder.Combine(BadFiles[2]), []);
        File.WriteAllBytes(folder.Combine(BadFiles[3]), [0x50, 0x4B, 0x03, 0x04, 1, 2, 3, 4]); // a zip's signature
        WriteOversizedPng(folder.Combine(BadFiles[4]));
        var ml = new MLContext(seed: 0);
        var raw = ml.Data.LoadImageFiles(folder.Path);
        var data = ml.Transforms.LabelFromFileName()
            .Append(ml.Transforms.RandomSplit(validPct: 0.5, seed: 1))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = 36 }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }))
            .Fit(raw).Transform(raw);
        return (folder, data);
    }

    static ImageFineTuningTrainer Trainer(bool skip, List<string>? log = null) =>
        new MLContext(seed: 0).MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            BatchSize = 4, Compute = { Device = "cpu" }, Pretrained = false, SkipBadImages = skip, Log = log is null ? null : log.Add,
        });

    [TestMethod]
    public void Without_the_option_every_bad_file_is_named_before_training()
    {
        var (folder, data) = DataWithBadFiles();
        using (folder)
        {
            var e = Assert.ThrowsExactly<InvalidDataException>(() => Trainer(skip: false).CreateSession(data).Dispose());
            StringAssert.Contains(e.Message, "5 files");
            StringAssert.Contains(e.Message, "10000×10000 = 100000000 pixels exceeds the limit of 89478485");
            foreach (var name in BadFiles) StringAssert.Contains(e.Message, name);
            StringAssert.Contains(e.Message, "zero-byte file");
            StringAssert.Contains(e.Message, "not an image");
            StringAssert.Contains(e.Message, "--skip-bad-images");
        }
    }

    [TestMethod]
    public void With_SkipBadImages_they_are_left_out_of_both_splits_and_counted()
    {
        var (folder, data) = DataWithBadFiles();
        using (folder)
        {
            var log = new List<string>();
            using var session = Trainer(skip: true, log).CreateSession(data);
            try
            {
                CollectionAssert.AreEquivalent(BadFiles, session.SkippedImages.Select(b => Path.GetFileName(b.Name)).ToList());
                var train = ((ImageBatchSource)session.Learner.Train).Items;
                var valid = ((ImageBatchSource)session.Learner.Valid!).Items;
                Assert.AreEqual(18, train.Count + valid.Count, "the 18 real images remain");
                Assert.IsFalse(train.Concat(valid).Any(i => BadFiles.Contains(Path.GetFileName(i.Source.Name))));
                var line = log.Single(l => l.StartsWith("Left out", StringComparison.Ordinal));
                StringAssert.Contains(line, "5 files");
                // Every remaining image decodes: a whole epoch of both splits runs without an error.
                foreach (var b in session.Learner.Train.GetBatches(0)) b.Dispose();
                foreach (var b in session.Learner.Valid!.GetBatches(0)) b.Dispose();
            }
            finally { session.Model.Dispose(); }
        }
    }
}
