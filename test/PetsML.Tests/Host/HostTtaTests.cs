using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host;

/// <summary>
/// train --progressive, then --tta on evaluate, predict and interpret: the JSON documents report the error rate (or the
/// prediction) as without --tta, and say tta=true.
/// </summary>
[TestClass]
public sealed class HostTtaTests
{
    static JsonElement Json(HostRunner.Result result)
    {
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        return JsonDocument.Parse(result.Json).RootElement;
    }

    [TestMethod]
    public void A_progressively_resized_model_is_evaluated_predicted_and_interpreted_with_tta()
    {
        using var temp = new TempFolder("petsml-host-tta");
        var data = temp.Combine("images");
        TestImages.WriteShapeDataset(data, perClass: 10, width: 56, height: 48);
        var model = temp.Combine("model.zip");
        var trained = HostRunner.Run("train", "--data", data, "--presize", "40", "--size", "32", "--batch-size", "4", "--progressive", "16",
            "--epochs", "1", "--freeze-epochs", "1", "--out", model, "--batch-png", "none", "--json");
        var train = Json(trained);
        StringAssert.Contains(trained.Error, "Progressive resizing: fine_tune's first 1 epoch(s) at 16 px, the rest at 32 px.");
        Assert.AreEqual(2, train.GetProperty("epochs").GetArrayLength());
        Assert.IsFalse(HostRunner.Run("train", "--data", data, "--size", "32", "--progressive", "32", "--out", model).ExitCode == ExitCodes.Success,
            "--progressive must be below --size");

        var plain = Json(HostRunner.Run("evaluate", "--model", model, "--data", data, "--json"));
        var tta = Json(HostRunner.Run("evaluate", "--model", model, "--data", data, "--tta", "--json"));
        Assert.IsFalse(plain.GetProperty("tta").GetBoolean());
        Assert.IsTrue(tta.GetProperty("tta").GetBoolean());
        Assert.AreEqual(6, tta.GetProperty("images").GetInt32(), "the validation split, as without --tta");
        double errorRate = tta.GetProperty("errorRate").GetDouble();
        Assert.IsTrue(errorRate is >= 0 and <= 1);
        Assert.AreEqual(1 - tta.GetProperty("microAccuracy").GetDouble(), errorRate, 1e-9);
        Assert.AreNotEqual(plain.GetProperty("logLoss").GetDouble(), tta.GetProperty("logLoss").GetDouble(), "the augmented copies changed the scores");

        var image = Directory.GetFiles(data)[0];
        var predicted = Json(HostRunner.Run("predict", "--model", model, image, "--tta", "--json"));
        Assert.IsTrue(predicted.GetProperty("tta").GetBoolean());
        var prediction = predicted.GetProperty("predictions")[0];
        Assert.IsTrue(TestImages.ShapeClasses.Contains(prediction.GetProperty("prediction").GetString()));

        var interpreted = Json(HostRunner.Run("interpret", "--model", model, "--data", data, "--out", temp.Combine("interpret"), "-k", "2", "--tta", "--json"));
        Assert.IsTrue(interpreted.GetProperty("tta").GetBoolean());
        Assert.AreEqual(errorRate, interpreted.GetProperty("errorRate").GetDouble(), "interpret's TTA is evaluate's (same seed)");
    }
}
