using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host;

/// <summary>
/// Ctrl+C during <c>petsml train</c> keeps the last finished epoch in <c>--out</c>.checkpoint and prints the resume command;
/// <c>--resume</c> finishes the run with the same epoch rows as an uninterrupted one and removes the checkpoint.
/// </summary>
[TestClass]
public sealed class HostResumeTests
{
    static string[] TrainArgs(string data, string model) =>
        ["train", "--data", data, "--presize", "40", "--size", "32", "--batch-size", "8", "--epochs", "2", "--freeze-epochs", "1",
         "--seed", "3", "--out", model, "--batch-png", "none", "--json"];

    /// <summary>
    /// Runs <paramref name="args"/> and presses Ctrl+C as soon as <paramref name="checkpoint"/> appears: the run stops before
    /// the next batch. The watcher is its own thread, not the thread pool's, which the tests running beside this one block:
    /// a pool watcher once cancelled only after the run had finished (most likely woken late).
    /// </summary>
    static HostRunner.Result StopAtFirstCheckpoint(string checkpoint, string[] args)
    {
        using var stop = new CancellationTokenSource();
        var watcher = new Thread(() =>
        {
            var deadline = DateTime.UtcNow.AddMinutes(4);
            while (!File.Exists(checkpoint) && DateTime.UtcNow < deadline) Thread.Sleep(1);
            stop.Cancel();
        }) { IsBackground = true, Name = "checkpoint watcher" };
        watcher.Start();
        var stopped = HostRunner.Run(stop.Token, args);
        watcher.Join();
        return stopped;
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void Ctrl_C_keeps_a_checkpoint_and_resume_finishes_like_an_uninterrupted_run()
    {
        using var temp = new TempFolder("petsml-host-resume");
        var data = temp.Combine("images");
        TestImages.WriteShapeDataset(data, perClass: 10, width: 48, height: 40);

        // The uninterrupted run: 1 frozen + 2 unfrozen epochs; its checkpoint is gone once the model is written.
        var whole = temp.Combine("whole", "model.zip");
        var uninterrupted = HostRunner.Run(TrainArgs(data, whole));
        Assert.AreEqual(ExitCodes.Success, uninterrupted.ExitCode, uninterrupted.Error);
        Assert.IsTrue(File.Exists(whole));
        Assert.IsFalse(File.Exists(whole + ".checkpoint"), "a successful run removes its checkpoint");
        var wholeEpochs = JsonDocument.Parse(uninterrupted.Json).RootElement.GetProperty("epochs");
        Assert.AreEqual(3, wholeEpochs.GetArrayLength());

        var model = temp.Combine("parts", "model.zip");
        var checkpoint = model + ".checkpoint";
        var stopped = StopAtFirstCheckpoint(checkpoint, TrainArgs(data, model));
        Assert.AreEqual(ExitCodes.Cancelled, stopped.ExitCode, stopped.Error);
        StringAssert.Contains(stopped.Error, $"Resume with: petsml train --resume {checkpoint} --out {model} --batch-png none --json");
        Assert.IsTrue(File.Exists(checkpoint), "the checkpoint is kept on Ctrl+C");
        Assert.IsFalse(File.Exists(model), "no model is written by a stopped run");

        var resumed = HostRunner.Run("train", "--resume", checkpoint, "--out", model, "--batch-png", "none", "--json");
        Assert.AreEqual(ExitCodes.Success, resumed.ExitCode, resumed.Error);
        StringAssert.Contains(resumed.Error, "Resuming");
        Assert.IsTrue(File.Exists(model));
        Assert.IsFalse(File.Exists(checkpoint), "the checkpoint is removed once the model is written");
        var rows = JsonDocument.Parse(resumed.Json).RootElement.GetProperty("epochs");
        Assert.IsTrue(rows.GetArrayLength() is >= 1 and <= 2, $"only the remaining epochs run; got {rows.GetArrayLength()}");
        foreach (var row in rows.EnumerateArray())
        {
            // Same seeds, same data, restored weights/optimizer/dropout: the same numbers as the uninterrupted run.
            var expected = wholeEpochs[row.GetProperty("epoch").GetInt32()];
            Assert.AreEqual(expected.GetProperty("phase").GetString(), row.GetProperty("phase").GetString());
            Assert.AreEqual(expected.GetProperty("trainLoss").GetDouble(), row.GetProperty("trainLoss").GetDouble(), "train_loss (the smoothed loss is in the checkpoint)");
            Assert.AreEqual(expected.GetProperty("validLoss").GetDouble(), row.GetProperty("validLoss").GetDouble(), "valid_loss");
            Assert.AreEqual(expected.GetProperty("errorRate").GetDouble(), row.GetProperty("errorRate").GetDouble(), "error_rate");
        }
        Assert.AreEqual(2, rows[rows.GetArrayLength() - 1].GetProperty("epoch").GetInt32(), "the run ends at the last epoch");
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void Resume_continues_with_the_training_tricks_the_checkpoint_stored()
    {
        using var temp = new TempFolder("petsml-host-resume-tricks");
        var data = temp.Combine("images");
        TestImages.WriteShapeDataset(data, perClass: 10, width: 48, height: 40);
        string[] Args(string model) =>
            ["train", "--data", data, "--presize", "40", "--size", "32", "--batch-size", "8", "--epochs", "2", "--freeze-epochs", "1",
             "--seed", "3", "--out", model, "--batch-png", "none", "--json",
             "--mixup", "0.4", "--label-smoothing", "0.1", "--grad-accum", "16", "--keep-best", "--early-stopping", "2"];

        var whole = temp.Combine("whole", "model.zip");
        var uninterrupted = HostRunner.Run(Args(whole));
        Assert.AreEqual(ExitCodes.Success, uninterrupted.ExitCode, uninterrupted.Error);
        var wholeEpochs = JsonDocument.Parse(uninterrupted.Json).RootElement.GetProperty("epochs");

        var model = temp.Combine("parts", "model.zip");
        var checkpoint = model + ".checkpoint";
        var stopped = StopAtFirstCheckpoint(checkpoint, Args(model));
        Assert.AreEqual(ExitCodes.Cancelled, stopped.ExitCode, stopped.Error);
        var settings = PetsML.TrainingCheckpoint.Load(checkpoint).Settings;
        Assert.AreEqual("0.4", settings["mixup"]);
        Assert.AreEqual("0.1", settings["label-smoothing"]);
        Assert.AreEqual("16", settings["grad-accum"]);
        Assert.AreEqual("true", settings["keep-best"]);
        Assert.AreEqual("2", settings["early-stopping"]);

        // The printed command names no trick: the checkpoint brings them back, so the last epoch is the uninterrupted run's.
        var resumed = HostRunner.Run("train", "--resume", checkpoint, "--out", model, "--batch-png", "none", "--json");
        Assert.AreEqual(ExitCodes.Success, resumed.ExitCode, resumed.Error);
        var rows = JsonDocument.Parse(resumed.Json).RootElement.GetProperty("epochs");
        Assert.IsTrue(rows.GetArrayLength() is >= 1 and <= 2, $"only the remaining epochs run; got {rows.GetArrayLength()}");
        foreach (var row in rows.EnumerateArray())
        {
            var expected = wholeEpochs[row.GetProperty("epoch").GetInt32()];
            // train_loss is the mixed, smoothed-label loss with accumulated steps: it matches only if every trick came back.
            Assert.AreEqual(expected.GetProperty("trainLoss").GetDouble(), row.GetProperty("trainLoss").GetDouble(), "train_loss");
            Assert.AreEqual(expected.GetProperty("validLoss").GetDouble(), row.GetProperty("validLoss").GetDouble(), "valid_loss");
        }
        Assert.AreEqual(wholeEpochs[wholeEpochs.GetArrayLength() - 1].GetProperty("epoch").GetInt32(),
            rows[rows.GetArrayLength() - 1].GetProperty("epoch").GetInt32(), "the resumed run ends where the uninterrupted one did");
    }

    [TestMethod]
    public void Resume_from_a_missing_or_foreign_file_is_bad_input()
    {
        using var temp = new TempFolder("petsml-host-resume");
        var missing = HostRunner.Run("train", "--resume", temp.Combine("nope.checkpoint"));
        Assert.AreEqual(ExitCodes.BadInput, missing.ExitCode);
        StringAssert.Contains(missing.Error, "--resume");
        var foreign = temp.Combine("foreign.checkpoint");
        File.WriteAllText(foreign, "hello");
        var result = HostRunner.Run("train", "--resume", foreign);
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "not a");
    }
}
