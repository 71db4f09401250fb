using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Shared;

/// <summary>The model file option of every command that reads a trained model (export reads it without running it).</summary>
public class ModelFileSettings : HostSettings
{
    [CommandOption("-m|--model <FILE>")]
    [Description("A model .zip written by 'petsml train'.")]
    [DefaultValue("model.zip")]
    public string Model { get; set; } = "model.zip";

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model must name a file.") : base.Validate();
}

/// <summary>Options of the commands that run a trained model: the model file and how it computes.</summary>
public class ModelSettings : ModelFileSettings
{
    [CommandOption("--precision <MODE>")]
    [Description(ComputeFlags.PrecisionHelp + " The model file is fp32 either way.")]
    [DefaultValue("auto")]
    public string Precision { get; set; } = "auto";

    [CommandOption("--channels-last <BOOL>")]
    [Description(ComputeFlags.ChannelsLastHelp)]
    [DefaultValue("true")]
    public string ChannelsLast { get; set; } = "true";

    public override ValidationResult Validate()
    {
        if (ComputeFlags.Validate(Precision, ChannelsLast) is { Successful: false } compute) return compute;
        return base.Validate();
    }
}

/// <summary>Options of the commands that score a labelled folder with a trained model.</summary>
public class ModelDataSettings : ModelSettings
{
    [CommandOption("--data <DIR>")]
    [Description("Folder of labelled images; the model's own label regex and split are applied. Default: the built-in demo photos; 'demo:drawn' for the drawn demo set.")]
    public string? Data { get; set; }

    [CommandOption("--all")]
    [Description("Use every image, not only the validation split the model was trained with.")]
    [DefaultValue(false)]
    public bool All { get; set; }

    [CommandOption("--tta")]
    [Description(TestTimeAugmentation.Help)]
    [DefaultValue(false)]
    public bool Tta { get; set; }

    [CommandOption("--min-val <N>")]
    [Description("Smallest count of a most-confused pair to list (fastai's min_val).")]
    [DefaultValue(1)]
    public int MinVal { get; set; } = 1;

    public override ValidationResult Validate()
        => MinVal < 1 ? ValidationResult.Error($"--min-val must be at least 1; got {MinVal}.") : base.Validate();
}
