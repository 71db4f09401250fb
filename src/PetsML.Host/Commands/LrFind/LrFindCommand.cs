using System.ComponentModel;
using System.Globalization;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Host.Visualization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.LrFind;

/// <summary><c>petsml lr-find</c>: fastai's <c>learn.lr_find()</c> on a fresh frozen learner: the four suggestions and the plot.</summary>
public sealed class LrFindCommand(HostConsole console) : Command<LrFindCommand.Settings>
{
    public sealed class Settings : DataSettings
    {
        [CommandOption("--plot <FILE>")]
        [Description("The PNG of the loss curve with the suggestions marked; 'none' to skip.")]
        [DefaultValue("lr_find.png")]
        public string Plot { get; set; } = "lr_find.png";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var mlContext = new MLContext(seed: settings.Seed);
        var data = PetsData.Load(mlContext, settings, human);
        var display = new TrainingProgressDisplay(console.Error) { FitNames = ["lr_find"] };
        var options = settings.TrainerOptions(display, line => human.WriteLine(line), cancellationToken);
        options.Callbacks.Add(display);
        var trainer = mlContext.MulticlassClassification.Trainers.FineTuneImageClassifier(options);
        var result = display.Run(() => trainer.FindLearningRate(data.Transformed));

        string F(double v) => v.ToString("0.##e+0", CultureInfo.InvariantCulture);
        var table = new Table().Title("lr_find suggestions").AddColumns("suggestion", "learning rate");
        table.AddRow("valley (default)", F(result.Valley)).AddRow("minimum/10", F(result.Minimum)).AddRow("steep", F(result.Steep)).AddRow("slide", F(result.Slide));
        human.Write(table);
        string? plot = settings.Plot.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : settings.Plot;
        if (plot is not null)
        {
            LrFindPlot.Save(result, plot);
            human.MarkupLineInterpolated($"Plot: {plot}");
        }
        if (settings.Json)
            console.WriteJson(new
            {
                command = "lr-find",
                data = data.Folder,
                valley = result.Valley, minimum = result.Minimum, steep = result.Steep, slide = result.Slide,
                plot = plot is null ? null : Path.GetFullPath(plot),
                curve = result.LearningRates.Zip(result.Losses, (lr, loss) => new { lr, loss }),
            });
        return ExitCodes.Success;
    }
}
