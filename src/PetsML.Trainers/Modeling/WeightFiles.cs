using System.Buffers.Binary;
using System.Collections;
using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// Loads a weight file into a module, choosing the reader by extension:
/// <list type="bullet">
/// <item><c>.dat</c>, <c>.bin</c>: TorchSharp's own format (<c>Module.save</c>).</item>
/// <item><c>.pth</c>, <c>.pt</c>: a PyTorch state dict saved by <c>torch.save</c> (zip format), read with TorchSharp.PyBridge.</item>
/// <item><c>.safetensors</c>: read with TorchSharp.PyBridge.</item>
/// </list>
/// Names and shapes are compared with the module's state dict first; the first mismatch throws
/// <see cref="InvalidDataException"/> naming the tensor. Checked with TorchSharp 0.107.0 and TorchSharp.PyBridge 1.4.4.
/// </summary>
public static class WeightFiles
{
    /// <summary>Extensions of TorchSharp's own format.</summary>
    public static readonly IReadOnlyList<string> TorchSharpExtensions = [".dat", ".bin"];

    /// <summary>Extensions of PyTorch's pickled state dicts.</summary>
    public static readonly IReadOnlyList<string> PyTorchExtensions = [".pth", ".pt"];

    /// <summary>Extension of the safetensors format.</summary>
    public const string SafetensorsExtension = ".safetensors";

    private const string BatchesTrackedSuffix = ".num_batches_tracked";

    /// <summary>
    /// Copies every tensor of <paramref name="path"/> into <paramref name="module"/>'s parameters and buffers.
    /// </summary>
    /// <param name="module">The module to fill; its state-dict names must match the file's.</param>
    /// <param name="path">The weight file (.dat, .bin, .pth, .pt or .safetensors).</param>
    /// <param name="skip">
    /// Tensors not to load, on either side: exact names, or prefixes written as <c>"fc.*"</c> (how a torchvision
    /// model file loads into a <see cref="ResNetBody"/>). The module keeps its values for skipped names.
    /// </param>
    /// <remarks>
    /// A BatchNorm <c>num_batches_tracked</c> counter that the file lacks (PyTorch files older than 0.4.1) is left
    /// as it is, as PyTorch itself does; every other missing tensor is an error.
    /// </remarks>
    public static void Load(nn.Module module, string path, IEnumerable<string>? skip = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Weight file '{path}' does not exist.", path);

        var patterns = (skip ?? []).ToArray();
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var fileName = Path.GetFileName(path);
        var expected = module.state_dict();

        if (TorchSharpExtensions.Contains(extension))
        {
            var entries = ReadTorchSharpIndex(path);
            var skipped = Check(fileName, entries, expected, patterns);
            module.load(path, strict: false, skip: skipped);
        }
        else if (PyTorchExtensions.Contains(extension))
        {
            // The pickled tensors are read once, checked, and copied: PyBridge's own load_py writes through a
            // strided view of the target without comparing shapes, so checking first matters here.
            using var scope = torch.NewDisposeScope();
            var stateDict = ReadPyTorchStateDict(path);
            var entries = stateDict.Select(kv => new TensorEntry(kv.Key, kv.Value.shape, null)).ToList();
            var skipped = Check(fileName, entries, expected, patterns);
            using var noGrad = torch.no_grad();
            module.load_state_dict(stateDict, strict: false, skip: skipped);
        }
        else if (extension == SafetensorsExtension)
        {
            var entries = ReadSafetensorsIndex(path);
            var skipped = Check(fileName, entries, expected, patterns);
            module.load_safetensors(path, strict: false, skip: skipped);
        }
        else
        {
            throw new ArgumentException(
                $"Unknown weight file extension '{extension}' ({fileName}): use {string.Join(", ", TorchSharpExtensions)}, " +
                $"{string.Join(", ", PyTorchExtensions)} or {SafetensorsExtension}.", nameof(path));
        }
    }

    /// <summary>True when <paramref name="name"/> matches one of the skip patterns (exact, or "prefix.*").</summary>
    internal static bool Matches(string name, IEnumerable<string> patterns) => patterns.Any(p =>
        p.EndsWith(".*", StringComparison.Ordinal)
            ? name.StartsWith(p[..^1], StringComparison.Ordinal)
            : string.Equals(name, p, StringComparison.Ordinal));

    /// <summary>Runs the name/shape check and returns the concrete names the loader must skip.</summary>
    private static List<string> Check(
        string fileName, IReadOnlyCollection<TensorEntry> entries, Dictionary<string, Tensor> expected, string[] patterns)
    {
        var inFile = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        bool IsSkipped(string name) =>
            Matches(name, patterns) || (name.EndsWith(BatchesTrackedSuffix, StringComparison.Ordinal) && !inFile.Contains(name));
        StateDictCheck.EnsureMatches(fileName, entries, expected, IsSkipped);
        return inFile.Concat(expected.Keys).Distinct(StringComparer.Ordinal).Where(IsSkipped).ToList();
    }

    /// <summary>
    /// Names, shapes and element types of a TorchSharp file, read with TorchSharp's own tensor reader in skip
    /// mode (it returns a zero tensor of the stored shape and type and seeks over the data).
    /// </summary>
    private static List<TensorEntry> ReadTorchSharpIndex(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var count = ReadLeb128(reader);
        var entries = new List<TensorEntry>();
        for (long i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            using var placeholder = TensorExtensionMethods.Load(reader, skip: true);
            entries.Add(new TensorEntry(name, placeholder.shape, placeholder.dtype));
        }
        return entries;
    }

    /// <summary>
    /// The entry count that starts a TorchSharp file is LEB128-encoded (TorchSharp's codec is internal, so it is
    /// decoded here: 7 bits per byte, low bits first, high bit set on every byte but the last).
    /// </summary>
    private static long ReadLeb128(BinaryReader reader)
    {
        long value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException("Corrupt TorchSharp weight file: bad entry count.");
    }

    /// <summary>Every tensor of a PyTorch zip-format state dict (PyBridge's unpickler), in the caller's dispose scope.</summary>
    private static Dictionary<string, Tensor> ReadPyTorchStateDict(string path)
    {
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException(
                $"{Path.GetFileName(path)} is not a PyTorch state dict in torch.save's zip format: {e.Message}", e);
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is not string name || entry.Value is not Tensor tensor)
                throw new InvalidDataException(
                    $"{Path.GetFileName(path)}: entry '{entry.Key}' is not a tensor; save model.state_dict(), not the model.");
            result.Add(name, tensor);
        }
        return result;
    }

    /// <summary>
    /// Names and shapes from a safetensors header: an 8-byte little-endian length, then that many bytes of JSON
    /// mapping each name to {dtype, shape, data_offsets} (plus an optional "__metadata__").
    /// </summary>
    private static List<TensorEntry> ReadSafetensorsIndex(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > (ulong)Math.Min(stream.Length - 8, 100_000_000))
            throw new InvalidDataException($"{Path.GetFileName(path)} is not a safetensors file: bad header length {headerLength}.");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        var entries = new List<TensorEntry>();
        foreach (var property in json.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__") continue;
            var shape = property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            entries.Add(new TensorEntry(property.Name, shape, null));
        }
        return entries;
    }
}
