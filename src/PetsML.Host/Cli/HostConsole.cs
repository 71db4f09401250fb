using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace PetsML.Host.Cli;

/// <summary>
/// Where the commands write. Human output goes to <see cref="Out"/> (stdout) normally and to <see cref="Error"/>
/// (stderr) under <c>--json</c>, so that stdout then carries exactly one JSON document, written by <see cref="WriteJson"/>.
/// </summary>
/// <param name="Out">The console on stdout.</param>
/// <param name="Error">The console on stderr (progress, warnings, errors).</param>
/// <param name="JsonOut">Receives the JSON document under <c>--json</c> (stdout).</param>
public sealed record HostConsole(IAnsiConsole Out, IAnsiConsole Error, TextWriter JsonOut)
{
    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The process's own stdout and stderr.</summary>
    public static HostConsole Standard()
    {
        var output = AnsiConsole.Console;
        var error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        // Redirected output (logs, pipes) would be wrapped at 80 columns; keep lines whole there.
        if (Console.IsOutputRedirected) output.Profile.Width = 200;
        if (Console.IsErrorRedirected) error.Profile.Width = 200;
        return new HostConsole(output, error, Console.Out);
    }

    /// <summary>The console for human-readable results: stderr when <paramref name="json"/>, else stdout.</summary>
    public IAnsiConsole Human(bool json) => json ? Error : Out;

    /// <summary>Writes <paramref name="document"/> as the one JSON document of this run.</summary>
    public void WriteJson(object document)
    {
        JsonOut.WriteLine(JsonSerializer.Serialize(document, document.GetType(), JsonOptions));
        JsonOut.Flush();
    }

    /// <summary>One line on stderr, markup-escaped.</summary>
    public void Warn(string line) => Error.MarkupLineInterpolated($"[yellow]{line}[/]");

    /// <summary>The one line a failed command prints on stderr.</summary>
    public void Fail(string line) => Error.MarkupLineInterpolated($"[red]error:[/] {line}");
}
