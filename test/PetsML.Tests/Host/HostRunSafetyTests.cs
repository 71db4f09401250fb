using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host;

/// <summary>
/// <c>petsml train</c> loses no run: --out is checked before any work, temporary files of killed runs are cleared, a
/// checkpoint that cannot be written is a warning, and any failure after a checkpoint prints the command that resumes it.
/// </summary>
[TestClass]
public sealed class HostRunSafetyTests
{
    static string[] TrainArgs(string data, string model, params string[] more) =>
        ["train", "--data", data, "--presize", "40", "--size", "32", "--batch-size", "8", "--epochs", "1", "--freeze-epochs", "1",
         "--seed", "3", "--out", model, "--json", .. more];

    [TestMethod]
    public void An_out_that_cannot_be_written_is_refused_before_anything_else()
    {
        using var temp = new TempFolder("petsml-host-out");
        var file = temp.Combine("a-file");
        File.WriteAllText(file, "a regular file, so nothing can be created under it (root ignores chmod, not this)");
        // The data folder does not exist either: the --out error coming first shows the check runs before the data is read.
        var missingData = temp.Combine("no-such-images");
        var underFile = HostRunner.Run(TrainArgs(missingData, Path.Combine(file, "models", "model.zip")));
        Assert.AreEqual(ExitCodes.BadInput, underFile.ExitCode, underFile.Error);
        StringAssert.Contains(underFile.Error, "--out");
        StringAssert.Contains(underFile.Error, "cannot write");

        var folder = HostRunner.Run(TrainArgs(missingData, temp.Path));
        Assert.AreEqual(ExitCodes.BadInput, folder.ExitCode, folder.Error);
        StringAssert.Contains(folder.Error, "is a folder");
        CollectionAssert.AreEquivalent(new[] { file }, Directory.GetFiles(temp.Path, "*", SearchOption.AllDirectories), "nothing was written");
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void Stale_temporary_files_go_an_unwritable_checkpoint_is_a_warning_and_the_batch_picture_is_next_to_out()
    {
        using var temp = new TempFolder("petsml-host-safety");
        var data = temp.Combine("images");
        TestImages.WriteShapeDataset(data, perClass: 10, width: 48, height: 40);
        var outFolder = temp.Combine("out");
        Directory.CreateDirectory(outFolder);
        var model = Path.Combine(outFolder, "model.zip");
        // What kill -9 left behind in earlier versions and this one, and a file that is not PetsML's.
        string[] stale = [".model.zip.checkpoint.0123456789abcdef0123456789abcdef.tmp", "model.zip.2147483001.tmp", ".model.zip.2147483002.tmp"];
        foreach (var name in stale) File.WriteAllText(Path.Combine(outFolder, name), "left by a killed run");
        File.WriteAllText(Path.Combine(outFolder, "notes.tmp"), "the user's");
        // A folder where the checkpoint would go: every checkpoint write fails, as on a full disk.
        Directory.CreateDirectory(model + ".checkpoint");

        var run = HostRunner.Run(TrainArgs(data, model));
        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.Error);
        foreach (var name in stale)
        {
            Assert.IsFalse(File.Exists(Path.Combine(outFolder, name)), $"{name} was removed");
            StringAssert.Contains(run.Error, name);
        }
        Assert.IsTrue(File.Exists(Path.Combine(outFolder, "notes.tmp")), "only PetsML's own temporary names are removed");
        StringAssert.Contains(run.Error, "Could not write the checkpoint after epoch 1 of 2");
        StringAssert.Contains(run.Error, "Training goes on");
        Assert.IsTrue(File.Exists(model), "the run went on to write its model");
        var json = JsonDocument.Parse(run.Json).RootElement;
        Assert.AreEqual(2, json.GetProperty("epochs").GetArrayLength());
        Assert.IsTrue(json.GetProperty("errorRate").GetDouble() < 0.34, "the run learned (3 classes: chance is 0.67)");
        var picture = Path.Combine(outFolder, "batch.png");
        Assert.IsTrue(File.Exists(picture), "batch.png is written next to --out by default");
        Assert.AreEqual(picture, json.GetProperty("batchPicture").GetString());
        Assert.AreEqual(0, Directory.GetFiles(outFolder, "*.tmp").Count(f => !f.EndsWith("notes.tmp", StringComparison.Ordinal)), "no temporary file is left");
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void A_failure_after_a_checkpoint_prints_the_resume_command()
    {
        using var temp = new TempFolder("petsml-host-fail");
        var data = temp.Combine("images");
        TestImages.WriteShapeDataset(data, perClass: 10, width: 48, height: 40);
        var model = temp.Combine("out", "model.zip");
        var checkpoint = model + ".checkpoint";
        // Once the first checkpoint is there, a folder takes the model's name: the final save fails (like a full disk would).
        var watcher = Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (!File.Exists(checkpoint) && DateTime.UtcNow < deadline) await Task.Delay(5);
            Directory.CreateDirectory(model);
        });
        var run = HostRunner.Run(TrainArgs(data, model, "--batch-png", "none"));
        watcher.GetAwaiter().GetResult();
        Assert.AreNotEqual(ExitCodes.Success, run.ExitCode, run.Error);
        StringAssert.Contains(run.Error, $"Checkpoint after epoch 1 of 2: {checkpoint}");
        StringAssert.Contains(run.Error, $"Resume with: petsml train --resume {checkpoint} --out {model} --batch-png none --json");
        Assert.IsTrue(File.Exists(checkpoint), "the checkpoint is kept");
        Assert.AreEqual(1, TrainingCheckpointEpochs(checkpoint));
    }

    static int TrainingCheckpointEpochs(string path) => PetsML.TrainingCheckpoint.Load(path).EpochsDone;
}
