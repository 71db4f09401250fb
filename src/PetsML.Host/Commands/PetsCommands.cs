using PetsML.Host.Cli;
using PetsML.Host.Commands.Train;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands;

/// <summary>Registers every command of <c>petsml</c> with its examples. Program.cs and the tests both call it.</summary>
public static class PetsCommands
{
    public static void Configure(IConfigurator config, HostConsole console)
    {
        config.SetApplicationName("petsml");
        config.Settings.Registrar.RegisterInstance(console);
        config.Settings.ExceptionHandler = (exception, _) => ErrorHandler.Handle(exception, console);
        config.Settings.CancellationExitCode = ExitCodes.Cancelled;
        config.Settings.Console = console.Error;

        config.AddCommand<TrainCommand>("train")
            .WithDescription("Fine-tune a pretrained ResNet (fastai's fine_tune): prints the epoch table, writes the model .zip and a batch picture.")
            .WithExample("train")
            .WithExample("train", "--data", "images", "--epochs", "2", "--report", "report");
    }
}
