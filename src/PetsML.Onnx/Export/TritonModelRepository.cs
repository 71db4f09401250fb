using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PetsML.Trainers.Interop.Onnx.Proto;

namespace PetsML.Onnx.Export;

/// <summary>
/// Writes a Triton Inference Server model repository for an exported ONNX file: <c>&lt;name&gt;/config.pbtxt</c> and
/// <c>&lt;name&gt;/1/model.onnx</c>. The config's inputs and outputs are read from the file itself (names, data
/// types, dims without the batch axis), so they cannot disagree with it; the dynamic batch axis becomes
/// <c>max_batch_size</c> with <c>dynamic_batching</c>, served by the ONNX Runtime backend.
/// </summary>
internal static partial class TritonModelRepository
{
    /// <summary>Writes the repository entry and returns the path of its config.pbtxt.</summary>
    /// <param name="onnxPath">An ONNX file written by <see cref="OnnxExporter"/> (dynamic batch axis first).</param>
    /// <param name="repositoryFolder">The model repository; only <c>&lt;modelName&gt;/</c> inside it is written.</param>
    /// <param name="modelName">Letters, digits, '_', '-' and '.'; Triton's model name.</param>
    /// <param name="maxBatchSize">Largest batch Triton may form (at least 1).</param>
    /// <exception cref="ArgumentException">A bad name or size, or an ONNX file whose inputs/outputs have no batch axis or an unsupported type.</exception>
    public static string Write(string onnxPath, string repositoryFolder, string modelName = "petsml", int maxBatchSize = 64)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryFolder);
        if (string.IsNullOrEmpty(modelName) || !ModelName().IsMatch(modelName) || modelName is "." or "..")
            throw new ArgumentException($"The Triton model name '{modelName}' must be letters, digits, '_', '-' or '.'.", nameof(modelName));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);

        var config = Config(onnxPath, modelName, maxBatchSize);
        var modelFolder = Path.Combine(Path.GetFullPath(repositoryFolder), modelName);
        var versionFolder = Path.Combine(modelFolder, "1");
        Directory.CreateDirectory(versionFolder);
        File.Copy(onnxPath, Path.Combine(versionFolder, "model.onnx"), overwrite: true);
        var configPath = Path.Combine(modelFolder, "config.pbtxt");
        File.WriteAllText(configPath, config);
        return configPath;
    }

    /// <summary>The config.pbtxt text for <paramref name="onnxPath"/>.</summary>
    public static string Config(string onnxPath, string modelName, int maxBatchSize)
    {
        ModelProto model;
        using (var stream = File.OpenRead(onnxPath))
            model = ModelProto.Parser.ParseFrom(stream);
        var graph = model.Graph ?? throw new ArgumentException($"{Path.GetFileName(onnxPath)} holds no ONNX graph.", nameof(onnxPath));
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"name: \"{modelName}\"\n");
        text.Append("platform: \"onnxruntime_onnx\"\n");
        text.Append(CultureInfo.InvariantCulture, $"max_batch_size: {maxBatchSize}\n");
        Tensors(text, "input", graph.Input.Where(v => !initializers.Contains(v.Name)), onnxPath);
        Tensors(text, "output", graph.Output, onnxPath);
        text.Append("dynamic_batching { }\n");
        text.Append("instance_group [ { kind: KIND_CPU } ]\n");
        return text.ToString();
    }

    private static void Tensors(StringBuilder text, string section, IEnumerable<ValueInfoProto> values, string onnxPath)
    {
        text.Append(section).Append(" [\n");
        var entries = values.Select(value =>
        {
            var tensor = value.Type?.TensorType ?? throw Fail($"'{value.Name}' is not a typed tensor");
            var dims = tensor.Shape?.Dim.ToList() ?? throw Fail($"'{value.Name}' has no shape");
            if (dims.Count == 0 || dims[0].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam)
                throw Fail($"'{value.Name}' has no dynamic batch axis first");
            var rest = dims.Skip(1).Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
                ? d.DimValue.ToString(CultureInfo.InvariantCulture)
                : "-1");
            return $"  {{\n    name: \"{value.Name}\"\n    data_type: {DataType(tensor.ElemType, value.Name)}\n    dims: [ {string.Join(", ", rest)} ]\n  }}";
        });
        text.Append(string.Join(",\n", entries)).Append("\n]\n");

        string DataType(int onnxType, string name) => onnxType switch
        {
            OnnxGraphBuilder.Float => "TYPE_FP32",
            OnnxGraphBuilder.Uint8 => "TYPE_UINT8",
            OnnxGraphBuilder.Int64 => "TYPE_INT64",
            _ => throw Fail($"'{name}' has ONNX type {onnxType}, which this writer does not map"),
        };
        ArgumentException Fail(string reason) => new($"{Path.GetFileName(onnxPath)}: {reason}.", nameof(onnxPath));
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex ModelName();
}
