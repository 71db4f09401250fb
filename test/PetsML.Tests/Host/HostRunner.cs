using PetsML.Host.Cli;
using PetsML.Host.Commands;
using Spectre.Console.Cli.Testing;
using Spectre.Console.Testing;

namespace PetsML.Tests.Host;

/// <summary>Runs petsml commands in-process through Spectre's CommandAppTester, with stdout, stderr and the JSON document captured apart.</summary>
internal static class HostRunner
{
    internal sealed record Result(int ExitCode, string Out, string Error, string Json);

    public static Result Run(params string[] args) => Run(CancellationToken.None, args);

    /// <summary>Runs with a token the test cancels, as Ctrl+C cancels Program.cs's token.</summary>
    public static Result Run(CancellationToken cancellationToken, params string[] args)
    {
        var error = new TestConsole();
        error.Profile.Width = 200;
        var json = new StringWriter();
        var tester = new CommandAppTester();
        tester.Console.Profile.Width = 200;
        var console = new HostConsole(tester.Console, error, json);
        tester.Configure(config => PetsCommands.Configure(config, console));
        var result = tester.RunAsync(args, cancellationToken).GetAwaiter().GetResult();
        return new Result(result.ExitCode, result.Output, error.Output, json.ToString());
    }
}
