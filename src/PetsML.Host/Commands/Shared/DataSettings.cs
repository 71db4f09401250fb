using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using System.ComponentModel;
using System.Globalization;
using System.Text.RegularExpressions;
using PetsML.Trainers.Modeling;
using PetsML.Transforms.Labeling;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// The options that describe the data and the network, shared by train, lr-find and show-batch. Sizes left
/// unset take the lesson's values with --data (<see cref="LessonDefaults"/>; the batch and the schedule of train and
/// lr-find then come from the trainer's training plan, which fits them to the data), a smaller batch on the built-in demo
/// photos (<see cref="DemoDefaults"/>) and small images on the drawn demo set (<see cref="DrawnDemoDefaults"/>),
/// so the demo trains in about a minute on 2 CPU cores.
/// </summary>
public class DataSettings : HostSettings
{
    /// <summary>Sizes and schedule that are not given on the command line.</summary>
    public sealed record Defaults(int Presize, int Size, int BatchSize, int Epochs, int FreezeEpochs);

    /// <summary>The fastai lesson: Resize(460), aug_transforms(size=224), bs 64, fine_tune(2).</summary>
    public static readonly Defaults LessonDefaults = new(Presize: 460, Size: 224, BatchSize: 64, Epochs: 2, FreezeEpochs: 1);

    /// <summary>The demo photos (90 images, 72 for training): the lesson's recipe with batches of 16, so an epoch has 4 steps, not 1.</summary>
    public static readonly Defaults DemoDefaults = new(Presize: 460, Size: 224, BatchSize: 16, Epochs: 2, FreezeEpochs: 1);

    /// <summary>The drawn demo set (--data demo:drawn): 120 small generated images.</summary>
    public static readonly Defaults DrawnDemoDefaults = new(Presize: 256, Size: 160, BatchSize: 16, Epochs: 1, FreezeEpochs: 1);

    /// <summary>--arch values.</summary>
    public static readonly IReadOnlyDictionary<string, ResNetArchitecture> Architectures = new Dictionary<string, ResNetArchitecture>(StringComparer.OrdinalIgnoreCase)
    {
        ["resnet18"] = ResNetArchitecture.ResNet18Packaged,
        ["resnet18-torchvision"] = ResNetArchitecture.ResNet18,
        ["resnet34"] = ResNetArchitecture.ResNet34,
        ["resnet50"] = ResNetArchitecture.ResNet50,
    };

    [CommandOption("--data <DIR>")]
    [Description("Folder of images named like Breed_Name_123.jpg (searched recursively). Default: the built-in demo photos (90 Oxford-IIIT Pet images, 3 breeds); 'demo:drawn' for the drawn demo set.")]
    public string? Data { get; set; }

    [CommandOption("--label-regex <RE>")]
    [Description("Regex on the file name; group 1 (or the group named 'label') is the class.")]
    [DefaultValue(RegexLabeler.OxfordPetsPattern)]
    public string LabelRegex { get; set; } = RegexLabeler.OxfordPetsPattern;

    [CommandOption("--valid-pct <FRACTION>")]
    [Description("Fraction of the images kept for validation, in (0, 1).")]
    [DefaultValue(0.2)]
    public double ValidPct { get; set; } = 0.2;

    [CommandOption("--split-seed <N>")]
    [Description("Seed of the train/validation split only.")]
    [DefaultValue(42)]
    public int SplitSeed { get; set; } = 42;

    [CommandOption("--seed <N>")]
    [Description("Seed of everything else: head initialisation, shuffling, augmentation.")]
    [DefaultValue(42)]
    public int Seed { get; set; } = 42;

    [CommandOption("--arch <NAME>")]
    [Description("Network: resnet18 (ImageNet weights shipped with PetsML), resnet18-torchvision, resnet34, resnet50 (the last three need --weights to start pretrained).")]
    [DefaultValue("resnet18")]
    public string Arch { get; set; } = "resnet18";

    [CommandOption("--weights <FILE>")]
    [Description("Body weights for --arch (.dat, .pth, .safetensors).")]
    public string? Weights { get; set; }

    [CommandOption("--presize <PX>")]
    [Description("Item resize before augmentation (fastai's Resize(460)). Default 460; 256 on the drawn demo set.")]
    public int? Presize { get; set; }

    [CommandOption("--size <PX>")]
    [Description("Final image size after augmentation. Default 224; 160 on the drawn demo set.")]
    public int? Size { get; set; }

    [CommandOption("--batch-size <N>")]
    [Description("Images per batch. Default: the training plan's for --data (64 from about 450 training photos, smaller below so an epoch has at least 7 steps); 16 on the demo photos and the drawn demo set.")]
    public int? BatchSize { get; set; }

    [CommandOption("--precision <MODE>")]
    [Description(ComputeFlags.PrecisionHelp)]
    [DefaultValue("auto")]
    public string Precision { get; set; } = "auto";

    [CommandOption("--channels-last <BOOL>")]
    [Description(ComputeFlags.ChannelsLastHelp)]
    [DefaultValue("true")]
    public string ChannelsLast { get; set; } = "true";

    /// <summary>
    /// The trainer options these settings give (network, batch size, seed, precision) with the command's progress
    /// display, log and Ctrl+C token; a command sets what is its own (epochs, learning rate) on the result.
    /// </summary>
    public ImageFineTuningOptions TrainerOptions(IProgress<BatchProgress> progress, Action<string> log, CancellationToken cancellationToken) => new()
    {
        Architecture = Architecture,
        Pretrained = Arch == "resnet18" || Weights is not null,
        WeightsFile = Weights,
        BatchSize = BatchSize ?? DemoSchedule?.BatchSize, // null: the training plan decides
        Seed = Seed,
        Progress = progress,
        Log = log,
        CancellationToken = cancellationToken,
        Compute = { Precision = ComputeFlags.Precision(Precision), ChannelsLast = ComputeFlags.ChannelsLast(ChannelsLast) },
    };

    /// <summary>The defaults that apply to this run (demo photos, drawn demo or lesson).</summary>
    public Defaults DefaultsForRun => Data switch
    {
        null => DemoDefaults,
        DataFolder.Drawn => DrawnDemoDefaults,
        _ => LessonDefaults,
    };

    /// <summary>
    /// The demo sets' own batch and schedule (demos: small batches and few epochs, so they train in about a minute); null
    /// for a data folder, whose unset batch, epochs and learning rate the trainer's training plan chooses.
    /// </summary>
    public Defaults? DemoSchedule => Data is null || Data == DataFolder.Drawn ? DefaultsForRun : null;

    public int PresizeOrDefault => Presize ?? DefaultsForRun.Presize;
    public int SizeOrDefault => Size ?? DefaultsForRun.Size;
    public int BatchSizeOrDefault => BatchSize ?? DefaultsForRun.BatchSize;
    public ResNetArchitecture Architecture => Architectures[Arch];

    public override ValidationResult Validate()
    {
        if (!(ValidPct > 0 && ValidPct < 1))
            return ValidationResult.Error($"--valid-pct must be between 0 and 1 (exclusive); got {ValidPct.ToString(CultureInfo.InvariantCulture)}.");
        if (!Architectures.ContainsKey(Arch))
            return ValidationResult.Error($"--arch must be one of {string.Join(", ", Architectures.Keys)}; got '{Arch}'.");
        if (Presize is < 32 or > 4096)
            return ValidationResult.Error($"--presize must be between 32 and 4096 pixels; got {Presize}.");
        if (Size is < 32 or > 4096)
            return ValidationResult.Error($"--size must be between 32 and 4096 pixels; got {Size}.");
        if (SizeOrDefault > PresizeOrDefault)
            return ValidationResult.Error($"--size ({SizeOrDefault}) must not exceed --presize ({PresizeOrDefault}): augmentation crops from the presized image.");
        if (BatchSize is < 1 or > 4096)
            return ValidationResult.Error($"--batch-size must be between 1 and 4096; got {BatchSize}.");
        try { _ = new Regex(LabelRegex); }
        catch (ArgumentException e) { return ValidationResult.Error($"--label-regex is not a valid regular expression: {e.Message}"); }
        if (Data is not null && string.IsNullOrWhiteSpace(Data))
            return ValidationResult.Error("--data must name a folder.");
        if (ComputeFlags.Validate(Precision, ChannelsLast) is { Successful: false } compute)
            return compute;
        return base.Validate();
    }
}
