using System.ComponentModel;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Onnx.Export;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Export;

/// <summary>
/// <c>petsml export</c>: the model .zip as one ONNX file (uint8 RGB in, softmax probabilities out, normalisation in the
/// graph), optionally with a Triton model repository around it. See the project's docs/scale.md.
/// </summary>
public sealed class ExportCommand(HostConsole console) : Command<ExportCommand.Settings>
{
    public sealed class Settings : ModelFileSettings
    {
        [CommandOption("--onnx <FILE>")]
        [Description("The ONNX file to write.")]
        [DefaultValue("model.onnx")]
        public string Onnx { get; set; } = "model.onnx";

        [CommandOption("--layout <LAYOUT>")]
        [Description("Axis order of the uint8 image input: nchw ([N,3,H,W]) or nhwc ([N,H,W,3]).")]
        [DefaultValue("nchw")]
        public string Layout { get; set; } = "nchw";

        [CommandOption("--triton <DIR>")]
        [Description("Also write a Triton model repository here: NAME/config.pbtxt and NAME/1/model.onnx.")]
        public string? Triton { get; set; }

        [CommandOption("--name <NAME>")]
        [Description("Triton model name (letters, digits, '_', '-', '.').")]
        [DefaultValue("petsml")]
        public string Name { get; set; } = "petsml";

        [CommandOption("--max-batch-size <N>")]
        [Description("Triton's max_batch_size (dynamic batching up to it).")]
        [DefaultValue(64)]
        public int MaxBatchSize { get; set; } = 64;

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Onnx)) return ValidationResult.Error("--onnx must name a file.");
            if (Layout is not ("nchw" or "nhwc")) return ValidationResult.Error($"--layout must be nchw or nhwc; got '{Layout}'.");
            if (MaxBatchSize < 1) return ValidationResult.Error($"--max-batch-size must be at least 1; got {MaxBatchSize}.");
            if (string.IsNullOrEmpty(Name) || Name is "." or ".." || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                return ValidationResult.Error($"--name must be letters, digits, '_', '-' or '.'; got '{Name}'.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var mlContext = new MLContext(seed: 0);
        using var saved = SavedModel.Load(mlContext, settings.Model);
        var options = new OnnxExportOptions
        {
            InputLayout = settings.Layout == "nhwc" ? OnnxInputLayout.Nhwc : OnnxInputLayout.Nchw,
            GraphName = settings.Name,
        };
        var result = OnnxExporter.Export(saved.Model, settings.Onnx, options);
        string? config = settings.Triton is null ? null : TritonModelRepository.Write(result.Path, settings.Triton, settings.Name, settings.MaxBatchSize);

        string Shape(long[] dims) => "[" + string.Join(", ", dims.Select(d => d < 0 ? "N" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        human.MarkupLineInterpolated($"Wrote [bold]{result.Path}[/] ({result.Bytes / 1e6:0.0} MB): input '{result.InputName}' uint8 {Shape(result.InputShape)}, output '{result.OutputName}' float [[N, {result.ClassNames.Count}]].");
        human.WriteLine("Before the graph, resize and crop as PetsML's validation does (metadata 'petsml.preprocessing'); see docs/scale.md.");
        if (config is not null) human.MarkupLineInterpolated($"Triton model repository entry: [bold]{config}[/]");
        if (settings.Json)
            console.WriteJson(new
            {
                command = "export",
                model = settings.Model,
                onnx = result.Path,
                bytes = result.Bytes,
                input = new { name = result.InputName, type = "uint8", shape = result.InputShape },
                output = new { name = result.OutputName, type = "float32", shape = new long[] { -1, result.ClassNames.Count } },
                classes = result.ClassNames,
                triton = config,
            });
        return ExitCodes.Success;
    }
}
