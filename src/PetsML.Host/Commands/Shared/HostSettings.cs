using System.ComponentModel;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Shared;

/// <summary>The option every command has.</summary>
public abstract class HostSettings : CommandSettings
{
    [CommandOption("--json")]
    [Description("Print one JSON document on stdout (human output goes to stderr).")]
    [DefaultValue(false)]
    public bool Json { get; set; }
}
