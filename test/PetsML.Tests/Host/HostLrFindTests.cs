using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host;

/// <summary>
/// <c>petsml lr-find</c> and <c>petsml train --lr find</c> run the library trainer's learning-rate finder (its
/// <c>FindLearningRate</c>, and <c>Fit</c> with no base rate): the suggestions, the plot, and a training run at the valley.
/// </summary>
[TestClass]
public sealed class HostLrFindTests
{
    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void Lr_find_suggests_rates_and_train_with_lr_find_trains_at_the_valley()
    {
        using var temp = new TempFolder("petsml-host-lrfind");
        var data = temp.Combine("images");
        TestImages.WriteShapeDataset(data, perClass: 10, width: 48, height: 40);
        string[] common = ["--data", data, "--presize", "40", "--size", "32", "--batch-size", "8", "--seed", "3", "--json"];

        var plot = temp.Combine("lr_find.png");
        var find = HostRunner.Run(["lr-find", .. common, "--plot", plot]);
        Assert.AreEqual(ExitCodes.Success, find.ExitCode, find.Error);
        var suggestions = JsonDocument.Parse(find.Json).RootElement;
        double valley = suggestions.GetProperty("valley").GetDouble();
        Assert.IsTrue(valley is > 1e-7 and < 10, $"the valley lies inside the swept range; got {valley}");
        Assert.IsTrue(suggestions.GetProperty("curve").GetArrayLength() > 10, "the curve has the swept points");
        Assert.IsTrue(new FileInfo(plot).Length > 0, "the plot is written");

        var model = temp.Combine("model.zip");
        var train = HostRunner.Run(["train", .. common, "--lr", "find", "--epochs", "1", "--freeze-epochs", "1", "--out", model, "--batch-png", "none"]);
        Assert.AreEqual(ExitCodes.Success, train.ExitCode, train.Error);
        var json = JsonDocument.Parse(train.Json).RootElement;
        // Same data, seed and fresh frozen learner: the trainer's lr_find inside Fit finds the same valley and trains with it.
        Assert.AreEqual(valley, json.GetProperty("lrFind").GetProperty("valley").GetDouble());
        Assert.AreEqual(valley, json.GetProperty("baseLearningRate").GetDouble());
        StringAssert.Contains(train.Error, "using the valley");
        Assert.IsTrue(File.Exists(model));
        Assert.IsTrue(json.GetProperty("errorRate").GetDouble() < 0.67, "the run learned (3 classes: chance is 0.67)");
    }
}
