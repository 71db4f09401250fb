using System.ComponentModel;
using System.Globalization;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Interpret;

/// <summary>
/// <c>petsml interpret</c>: fastai's <c>ClassificationInterpretation</c>: the confusion matrix and top-losses pictures,
/// and the most confused pairs; then the expected calibration error before and after the model's temperature, with its reliability
/// table and diagram (reliability.png).
/// </summary>
public sealed class InterpretCommand(HostConsole console) : Command<InterpretCommand.Settings>
{
    public sealed class Settings : ModelDataSettings
    {
        [CommandOption("-o|--out <DIR>")]
        [Description("Folder for confusion_matrix.png, top_losses.png and reliability.png.")]
        [DefaultValue("interpretation")]
        public string Out { get; set; } = "interpretation";

        [CommandOption("-k|--top-losses <K>")]
        [Description("How many highest-loss images to show (fastai's plot_top_losses(k)).")]
        [DefaultValue(9)]
        public int TopLosses { get; set; } = 9;

        public override ValidationResult Validate()
        {
            if (TopLosses is < 1 or > 100) return ValidationResult.Error($"--top-losses must be between 1 and 100; got {TopLosses}.");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out must name a folder.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var mlContext = new MLContext(seed: 0);
        using var saved = SavedModel.Load(mlContext, settings);
        var scored = ScoredFolder.Score(mlContext, saved.Model, settings.Data, settings.All, settings.Tta);
        var interpretation = scored.Interpretation;
        if (settings.Tta) human.WriteLine("Test-time augmentation: each image's probabilities are 0.75 x the mean over 4 augmented copies + 0.25 x the plain ones (seed 42).");
        var top = InterpretationPictures.Write(mlContext, saved.Model, scored, settings.Out, settings.TopLosses);
        var mostConfused = interpretation.MostConfused(settings.MinVal);
        ConsoleTables.WriteMetrics(human, scored.Metrics, interpretation);
        ConsoleTables.WriteMostConfused(human, mostConfused, settings.MinVal);
        var losses = new Table().Title("Top losses").AddColumns("image", "predicted/actual", "loss", "probability");
        foreach (var t in top)
            losses.AddRow(Markup.Escape(Path.GetFileName(t.ItemName ?? "")), Markup.Escape($"{t.Predicted}/{t.Actual}"),
                t.Loss.ToString("0.00", CultureInfo.InvariantCulture), t.Probability.ToString("0.00", CultureInfo.InvariantCulture));
        human.Write(losses);
        var calibration = CalibrationReport.From(interpretation, saved.Classifier.Temperature);
        calibration.Write(human);
        InterpretationPictures.WriteReliability(calibration, settings.Out);
        string[] pictures = [InterpretationPictures.ConfusionMatrixFile, InterpretationPictures.TopLossesFile, InterpretationPictures.ReliabilityFile];
        human.WriteLine($"Pictures: {string.Join(", ", pictures.Select(f => Path.Combine(settings.Out, f)))}");
        if (settings.Json)
            console.WriteJson(new
            {
                command = "interpret",
                model = settings.Model,
                data = scored.Folder,
                images = interpretation.Count,
                errorRate = interpretation.ErrorRate,
                tta = settings.Tta,
                classes = interpretation.ClassNames,
                confusionMatrix = ConsoleTables.Rows(interpretation.ConfusionMatrix()),
                mostConfused,
                topLosses = top,
                calibration = calibration.ToJson(),
                pictures = pictures.Select(f => Path.GetFullPath(Path.Combine(settings.Out, f))),
            });
        return ExitCodes.Success;
    }
}
