using System.ComponentModel;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.ShowBatch;

/// <summary><c>petsml show-batch</c>: fastai's <c>dls.show_batch()</c>, an augmented training batch as a labelled PNG grid.</summary>
public sealed class ShowBatchCommand(HostConsole console) : Command<ShowBatchCommand.Settings>
{
    public sealed class Settings : DataSettings
    {
        [CommandOption("-o|--out <FILE>")]
        [Description("The PNG to write.")]
        [DefaultValue("batch.png")]
        public string Out { get; set; } = "batch.png";

        [CommandOption("--max-images <N>")]
        [Description("Most images drawn.")]
        [DefaultValue(16)]
        public int MaxImages { get; set; } = 16;

        public override ValidationResult Validate()
            => MaxImages is < 1 or > 256 ? ValidationResult.Error($"--max-images must be between 1 and 256; got {MaxImages}.") : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var mlContext = new MLContext(seed: settings.Seed);
        var data = PetsData.Load(mlContext, settings, human);
        int shown = Shared.ShowBatch.Save(mlContext, data, settings.Seed, settings.Out, settings.MaxImages);
        human.MarkupLineInterpolated($"Batch picture ({shown} images): {settings.Out}");
        if (settings.Json) console.WriteJson(new { command = "show-batch", data = data.Folder, picture = Path.GetFullPath(settings.Out), images = shown });
        return ExitCodes.Success;
    }
}
