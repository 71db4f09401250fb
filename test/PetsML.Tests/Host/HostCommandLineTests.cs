using PetsML.Host.Cli;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host;

/// <summary>Usage errors (exit 2) and bad input (exit 1) are caught before any work, with one line naming the option or file.</summary>
[TestClass]
public sealed class HostCommandLineTests
{
    [TestMethod]
    [DataRow("--valid-pct", "1.5", "--valid-pct")]
    [DataRow("--lr", "fast", "--lr")]
    [DataRow("--arch", "vgg16", "--arch")]
    [DataRow("--size", "8", "--size")]
    [DataRow("--epochs", "0", "--epochs")]
    [DataRow("--label-regex", "(unclosed", "--label-regex")]
    [DataRow("--precision", "fp16", "--precision")]
    [DataRow("--channels-last", "maybe", "--channels-last")]
    [DataRow("--time-budget", "0", "--time-budget")]
    [DataRow("--time-budget", "10 minutes", "--time-budget")]
    public void Train_rejects_a_bad_option_value_with_usage_exit_code(string option, string value, string named)
    {
        var result = HostRunner.Run("train", option, value);
        Assert.AreEqual(ExitCodes.Usage, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, named);
    }

    [TestMethod]
    [DataRow("90s", 90)]
    [DataRow("10m", 600)]
    [DataRow("1h30m", 5400)]
    [DataRow("1.5h", 5400)]
    [DataRow("45", 45)]
    public void Time_budgets_read_as_written(string text, int seconds)
        => Assert.AreEqual(TimeSpan.FromSeconds(seconds), PetsML.Host.Commands.Train.TrainCommand.Settings.ParseTimeBudget(text));

    [TestMethod]
    public void Size_larger_than_presize_is_a_usage_error_naming_both()
    {
        var result = HostRunner.Run("train", "--size", "300", "--presize", "256");
        Assert.AreEqual(ExitCodes.Usage, result.ExitCode);
        StringAssert.Contains(result.Error, "--presize");
    }

    [TestMethod]
    public void Unknown_command_and_unknown_option_are_usage_errors()
    {
        Assert.AreEqual(ExitCodes.Usage, HostRunner.Run("fly").ExitCode);
        Assert.AreEqual(ExitCodes.Usage, HostRunner.Run("evaluate", "--no-such-option").ExitCode);
    }

    [TestMethod]
    public void Missing_model_file_is_bad_input_in_one_line()
    {
        using var temp = new TempFolder();
        var result = HostRunner.Run("predict", "--model", temp.Combine("missing.zip"), temp.Combine("x.jpg"));
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode);
        StringAssert.Contains(result.Error, "missing.zip");
        Assert.AreEqual(1, result.Error.Trim().Split('\n').Length, result.Error);
    }

    [TestMethod]
    public void A_zip_that_is_not_a_model_is_bad_input()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("other.zip");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
            using (var writer = new StreamWriter(zip.CreateEntry("readme.txt").Open())) writer.Write("not a model");
        var result = HostRunner.Run("evaluate", "--model", path);
        Assert.AreEqual(ExitCodes.BadInput, result.ExitCode, result.Error);
        StringAssert.Contains(result.Error, "other.zip");
    }

    [TestMethod]
    public void Folder_without_images_and_missing_folder_are_bad_input()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.Combine("notes.txt"), "no images here");
        var empty = HostRunner.Run("show-batch", "--data", temp.Path, "--out", temp.Combine("b.png"));
        Assert.AreEqual(ExitCodes.BadInput, empty.ExitCode, empty.Error);
        StringAssert.Contains(empty.Error, "--data");
        var missing = HostRunner.Run("train", "--data", temp.Combine("nope"));
        Assert.AreEqual(ExitCodes.BadInput, missing.ExitCode);
        StringAssert.Contains(missing.Error, "nope");
    }
}
