using PetsML.Trainers.Training;
using PetsML.Transforms.Imaging;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Cli;

/// <summary>
/// Turns every exception that leaves a command into one line on stderr and a documented exit code:
/// usage errors (parsing, option validation) 2, bad input 1, Ctrl+C 130. Set PETSML_DEBUG=1 for stack traces.
/// </summary>
public static class ErrorHandler
{
    public static int Handle(Exception exception, HostConsole console)
    {
        if (exception is OperationCanceledException)
        {
            console.Warn("Stopped (Ctrl+C).");
            return ExitCodes.Cancelled;
        }
        if (exception is CommandAppException)
        {
            console.Fail(exception.Message);
            console.Error.WriteLine("Run 'petsml --help' or 'petsml COMMAND --help' for the options and their allowed values.");
            return ExitCodes.Usage;
        }
        console.Fail(Describe(exception));
        if (Environment.GetEnvironmentVariable("PETSML_DEBUG") is "1" or "true")
            console.Error.WriteLine(exception.ToString());
        return ExitCodes.BadInput;
    }

    /// <summary>The message of the exception the user can act on (the innermost of wrapper exceptions).</summary>
    static string Describe(Exception exception)
    {
        var e = exception;
        while (e is AggregateException or System.Reflection.TargetInvocationException or TypeInitializationException && e.InnerException is not null)
            e = e.InnerException!;
        return e switch
        {
            BadInputException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
                or ImageDecodeException or TrainingDivergedException or UnauthorizedAccessException => e.Message,
            _ => $"{e.Message} ({e.GetType().Name})",
        };
    }
}
