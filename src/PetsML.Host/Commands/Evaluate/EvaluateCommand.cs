using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Evaluate;

/// <summary>
/// <c>petsml evaluate</c>: ML.NET's <c>MulticlassClassification.Evaluate</c> on the model's validation split of a folder,
/// with the confusion matrix (rows actual) and fastai's <c>most_confused(min_val)</c>.
/// </summary>
public sealed class EvaluateCommand(HostConsole console) : Command<ModelDataSettings>
{
    public override int Execute(CommandContext context, ModelDataSettings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var mlContext = new MLContext(seed: 0);
        using var saved = SavedModel.Load(mlContext, settings);
        var scored = ScoredFolder.Score(mlContext, saved.Model, settings.Data, settings.All, settings.Tta);
        var interpretation = scored.Interpretation;
        if (settings.Tta) human.WriteLine("Test-time augmentation: each image's probabilities are 0.75 x the mean over 4 augmented copies + 0.25 x the plain ones (seed 42).");
        var mostConfused = interpretation.MostConfused(settings.MinVal);
        ConsoleTables.WriteMetrics(human, scored.Metrics, interpretation);
        ConsoleTables.WriteConfusionMatrix(human, interpretation);
        ConsoleTables.WriteMostConfused(human, mostConfused, settings.MinVal);
        if (settings.Json)
            console.WriteJson(new
            {
                command = "evaluate",
                model = settings.Model,
                data = scored.Folder,
                split = settings.All ? "all" : "validation",
                images = interpretation.Count,
                errorRate = interpretation.ErrorRate,
                tta = settings.Tta,
                microAccuracy = scored.Metrics.MicroAccuracy,
                macroAccuracy = scored.Metrics.MacroAccuracy,
                logLoss = scored.Metrics.LogLoss,
                classes = interpretation.ClassNames,
                confusionMatrix = ConsoleTables.Rows(interpretation.ConfusionMatrix()),
                mostConfused,
            });
        return ExitCodes.Success;
    }
}
