using System.Runtime.InteropServices;
using PetsML.Trainers.Interop.Onnx.Proto;
using PetsML.Trainers.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Interop.Onnx;

/// <summary>
/// The trained ImageNet ResNet-18 that ships in the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1
/// (CNTK 2.6 export, ONNX opset 8, BasicBlock [2, 2, 2, 3], no classifier), read into torchvision names.
/// </summary>
/// <remarks>
/// The package's own build props copy its models to <c>DnnImageModels/</c> in the output of every app that
/// references PetsML.Trainers, as a project or as a package (see PetsML.Trainers.csproj). CNTK's filters were trained on BGR input; conv1's input-channel axis is flipped once
/// here so the body takes RGB, normalised with <see cref="ChannelStatistics.PackagedResNet18"/>.
/// </remarks>
internal static class PackagedResNet18
{
    /// <summary>The NuGet package the weights come from.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version the weights were checked against.</summary>
    public const string PackageVersion = "0.23.1";

    /// <summary>Where the file is expected, relative to the application's base directory.</summary>
    public static readonly string RelativePath = Path.Combine("DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>ONNX's TensorProto.DataType for 32-bit floats.</summary>
    private const int OnnxFloat = 1;

    /// <summary>
    /// Full path of <c>DnnImageModels/ResNet18Onnx/ResNet18.onnx</c> next to the running application.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file is not there (names the path and the package).</exception>
    public static string OnnxPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, RelativePath);
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"The pretrained ResNet-18 weights are missing: expected '{path}'. They come from the NuGet package " +
                    $"{PackageId} {PackageVersion}, a dependency of PetsML.Trainers whose build copies tools/DnnImageModels/ into " +
                    "the application's output; restore and build again, or copy the file there.", path);
            return path;
        }
    }

    /// <summary>
    /// Reads the ONNX file into a torchvision-style state dict for a <see cref="ResNetArchitecture.ResNet18Packaged"/>
    /// body: <c>conv1.weight</c> (flipped from BGR to RGB), <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>... with every
    /// <c>num_batches_tracked</c> set to 0. The names are derived from the graph (see <see cref="ResNetOnnxGraph"/>).
    /// The caller owns the returned tensors.
    /// </summary>
    /// <param name="onnxPath">The ONNX file; <see cref="OnnxPath"/> when null.</param>
    public static Dictionary<string, Tensor> LoadStateDict(string? onnxPath = null)
    {
        var path = onnxPath ?? OnnxPath;
        var sourceName = Path.GetFileName(path);
        ModelProto model;
        // Every array the parser and ToTensor allocate is backed by bytes of the file, so memory is bounded by its
        // size; a damaged file is one named InvalidDataException, not a protobuf exception.
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{sourceName} is not a readable ONNX file ({e.Message}).", e);
        }
        if (model.Graph is null)
            throw new InvalidDataException($"{sourceName} holds no ONNX graph.");

        var sources = ResNetOnnxGraph.MapWeights(model.Graph, sourceName);
        using var scope = torch.NewDisposeScope();
        var stateDict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, initializer) in sources)
        {
            var tensor = ToTensor(initializer, sourceName);
            if (name == "conv1.weight") tensor = tensor.flip(1); // BGR filters → RGB filters
            stateDict.Add(name, tensor);
            if (name.EndsWith(".running_var", StringComparison.Ordinal))
            {
                var module = name[..^".running_var".Length];
                stateDict.Add($"{module}.num_batches_tracked", torch.tensor(0L));
            }
        }
        foreach (var tensor in stateDict.Values) tensor.MoveToOuterDisposeScope();
        return stateDict;
    }

    /// <summary>
    /// Loads the packaged weights into <paramref name="body"/>, which must be a
    /// <see cref="ResNetArchitecture.ResNet18Packaged"/> body; every name and shape must match (strict).
    /// </summary>
    /// <param name="body">The body to fill.</param>
    /// <param name="onnxPath">The ONNX file; <see cref="OnnxPath"/> when null.</param>
    public static void LoadInto(ResNetBody body, string? onnxPath = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Architecture != ResNetArchitecture.ResNet18Packaged)
            throw new ArgumentException(
                $"The packaged weights fit a {ResNetArchitecture.ResNet18Packaged} body, not {body.Architecture}.", nameof(body));
        var path = onnxPath ?? OnnxPath;
        using var scope = torch.NewDisposeScope();
        var stateDict = LoadStateDict(path);
        var entries = stateDict.Select(kv => new TensorEntry(kv.Key, kv.Value.shape, kv.Value.dtype)).ToList();
        StateDictCheck.EnsureMatches(Path.GetFileName(path), entries, body.state_dict(), _ => false);
        using var noGrad = torch.no_grad();
        body.load_state_dict(stateDict, strict: true);
    }

    private static Tensor ToTensor(TensorProto initializer, string sourceName)
    {
        if (initializer.DataType != OnnxFloat)
            throw new InvalidDataException(
                $"{sourceName}: initializer '{initializer.Name}' has ONNX data type {initializer.DataType}, expected FLOAT (1).");
        var dims = ResNetOnnxGraph.Dims(initializer);
        if (dims.Any(d => d < 0) || WeightFiles.DataBytes(dims, sizeof(float)) is null)
            throw new InvalidDataException($"{sourceName}: initializer '{initializer.Name}' declares dims {StateDictCheck.Format(dims)}.");
        var count = dims.Aggregate(1L, (a, b) => a * b);
        float[] values;
        if (initializer.FloatData.Count > 0)
            values = initializer.FloatData.ToArray();
        else if (!initializer.RawData.IsEmpty && BitConverter.IsLittleEndian)
            values = MemoryMarshal.Cast<byte, float>(initializer.RawData.Span).ToArray();
        else
            throw new InvalidDataException($"{sourceName}: initializer '{initializer.Name}' holds no float data.");
        if (values.LongLength != count)
            throw new InvalidDataException(
                $"{sourceName}: initializer '{initializer.Name}' has {values.LongLength} values for dims {StateDictCheck.Format(dims)}.");
        return torch.tensor(values, dims);
    }
}
