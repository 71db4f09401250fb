using System.Buffers.Binary;
using System.Collections;
using System.IO.Compression;
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
internal static class WeightFiles
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
        if (!TorchSharpExtensions.Contains(extension) && !PyTorchExtensions.Contains(extension) && extension != SafetensorsExtension)
        {
            throw new ArgumentException(
                $"Unknown weight file extension '{extension}' ({fileName}): use {string.Join(", ", TorchSharpExtensions)}, " +
                $"{string.Join(", ", PyTorchExtensions)} or {SafetensorsExtension}.", nameof(path));
        }
        var expected = module.state_dict();
        try
        {
            LoadChecked(module, path, fileName, extension, expected, patterns);
        }
        catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException or OperationCanceledException))
        {
            // Whatever a damaged file makes a reader throw (EndOfStream, a JSON or zip error, a native error) is
            // reported as what it is: a bad weight file, named.
            throw new InvalidDataException($"{fileName}: not a readable weight file ({e.Message.Split('\n')[0]}).", e);
        }
    }

    /// <summary>
    /// Every reader first lists what the file declares (names, shapes, element types, byte ranges) without allocating
    /// a tensor, checks it against <paramref name="expected"/> and the file's length, and only then lets TorchSharp or
    /// PyBridge read: what they allocate is then bounded by the model's size and the file's.
    /// </summary>
    private static void LoadChecked(nn.Module module, string path, string fileName, string extension,
        Dictionary<string, Tensor> expected, string[] patterns)
    {
        if (TorchSharpExtensions.Contains(extension))
        {
            List<TensorEntry> entries;
            using (var stream = File.OpenRead(path))
                entries = ReadTorchSharpIndex(stream, fileName);
            var skipped = Check(fileName, entries, expected, patterns);
            module.load(path, strict: false, skip: skipped);
        }
        else if (PyTorchExtensions.Contains(extension))
        {
            var declared = ReadPyTorchIndex(path, fileName, expected);
            var entries = declared.Select(t => new TensorEntry(t.Name, t.Shape, null)).ToList();
            var skipped = Check(fileName, entries, expected, patterns);
            // The pickled tensors are read once, checked, and copied: PyBridge's own load_py writes through a
            // strided view of the target without comparing shapes, so checking first matters here.
            using var scope = torch.NewDisposeScope();
            var stateDict = ReadPyTorchStateDict(path);
            using var noGrad = torch.no_grad();
            module.load_state_dict(stateDict, strict: false, skip: skipped);
        }
        else
        {
            var entries = ReadSafetensorsIndex(path, fileName);
            var skipped = Check(fileName, entries, expected, patterns);
            module.load_safetensors(path, strict: false, skip: skipped);
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
    /// Names, shapes and element types of a TorchSharp file (<c>Module.save</c>): a LEB128 entry count, then per entry
    /// a length-prefixed name, the LEB128 element type, dimension count and dimensions, and the raw data. Only the
    /// headers are read (the data is seeked over), nothing is allocated per tensor, and every declared size must fit in
    /// what is left of the stream: a 21-byte file cannot declare a gigabyte tensor.
    /// </summary>
    internal static List<TensorEntry> ReadTorchSharpIndex(Stream stream, string fileName)
    {
        InvalidDataException Bad(string reason) => new($"{fileName}: {reason}.");
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            var count = ReadLeb128(reader, fileName);
            if (count < 0 || count > stream.Length - stream.Position)
                throw Bad($"declares {count} tensors, more than its {stream.Length:N0} bytes can hold");
            var entries = new List<TensorEntry>();
            for (long i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var code = ReadLeb128(reader, fileName);
                if (code is < 0 or > sbyte.MaxValue || ElementSize((ScalarType)code) is not { } elementSize)
                    throw Bad($"tensor '{name}' has an unknown element type code {code}");
                var rank = ReadLeb128(reader, fileName);
                if (rank is < 0 or > MaxRank) throw Bad($"tensor '{name}' declares {rank} dimensions");
                var shape = new long[rank];
                for (int d = 0; d < rank; d++) shape[d] = ReadLeb128(reader, fileName);
                var bytes = DataBytes(shape, elementSize) ?? throw Bad($"tensor '{name}' declares the shape {StateDictCheck.Format(shape)}");
                var left = stream.Length - stream.Position;
                if (bytes > left)
                    throw Bad($"tensor '{name}' declares {StateDictCheck.Format(shape)} ({bytes:N0} bytes) but only {left:N0} bytes are left");
                stream.Seek(bytes, SeekOrigin.Current);
                entries.Add(new TensorEntry(name, shape, (ScalarType)code));
            }
            return entries;
        }
        catch (EndOfStreamException)
        {
            throw Bad("it ends in the middle of a tensor header");
        }
    }

    /// <summary>No weight in a ResNet has more than 4 dimensions; 8 leaves room and refuses nonsense early.</summary>
    private const int MaxRank = 8;

    /// <summary>Bytes of a tensor of this shape, or null when a dimension is negative or the product overflows.</summary>
    internal static long? DataBytes(long[] shape, long elementSize)
    {
        long bytes = elementSize;
        foreach (var d in shape)
        {
            if (d < 0) return null;
            try { bytes = checked(bytes * d); }
            catch (OverflowException) { return null; }
        }
        return bytes;
    }

    /// <summary>Bytes per element of the types a weight file may hold; null for any other type code.</summary>
    internal static long? ElementSize(ScalarType type) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => null,
    };

    /// <summary>
    /// The entry count that starts a TorchSharp file is LEB128-encoded (TorchSharp's codec is internal, so it is
    /// decoded here: 7 bits per byte, low bits first, high bit set on every byte but the last).
    /// </summary>
    private static long ReadLeb128(BinaryReader reader, string fileName)
    {
        long value = 0;
        for (var shift = 0; shift < 63; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException($"{fileName}: a number in a tensor header is longer than 63 bits.");
    }

    /// <summary>
    /// What a PyTorch zip-format state dict declares (<see cref="PickledStateDictIndex"/>), checked before PyBridge
    /// reads it: every tensor lies inside its storage, every storage entry holds exactly its elements, and what
    /// PyBridge will allocate (a byte array of the whole storage and a tensor of the declared shape, for every
    /// reference) stays within <see cref="PickleBudget"/> of the model's own size. A 1 MB zip whose 1 GiB storage
    /// is referenced three times is refused here.
    /// </summary>
    private static List<PickledTensor> ReadPyTorchIndex(string path, string fileName, Dictionary<string, Tensor> expected)
    {
        using var file = File.OpenRead(path);
        Span<byte> signature = stackalloc byte[4];
        if (file.ReadAtLeast(signature, 4, throwOnEndOfStream: false) < 4 || !signature.SequenceEqual("PK\u0003\u0004"u8))
            throw new InvalidDataException($"{fileName}: not a PyTorch state dict in torch.save's zip format (re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later).");
        file.Position = 0;
        ZipArchive zip;
        try { zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{fileName}: a damaged zip ({e.Message})", e); }
        using var _ = zip;
        var tensors = PickledStateDictIndex.Read(zip, fileName);
        var storages = new Dictionary<string, long>(StringComparer.Ordinal);
        long budget = PickleBudget(expected), planned = 0;
        foreach (var t in tensors)
        {
            var elementSize = ElementSize(t.DType)!.Value;
            if (t.Shape.Length > MaxRank || t.Stride.Length != t.Shape.Length || t.Stride.Any(s => s < 0) || t.Offset < 0
                || DataBytes(t.Shape, elementSize) is not { } tensorBytes || DataBytes([t.StorageElements], elementSize) is not { } storageBytes)
                throw new InvalidDataException($"{fileName}: tensor '{t.Name}' declares an impossible layout (shape {StateDictCheck.Format(t.Shape)}, stride {StateDictCheck.Format(t.Stride)}, offset {t.Offset}).");
            if (tensorBytes > 0 && !InsideStorage(t))
                throw new InvalidDataException($"{fileName}: tensor '{t.Name}' reaches past the end of its storage '{t.StorageKey}' ({t.StorageElements:N0} elements).");
            if (!storages.ContainsKey(t.StorageKey))
            {
                var entries = zip.Entries.Where(e => e.FullName.EndsWith("/data/" + t.StorageKey, StringComparison.Ordinal)).ToList();
                if (entries.Count != 1) throw new InvalidDataException($"{fileName}: storage '{t.StorageKey}' of tensor '{t.Name}' is {(entries.Count == 0 ? "missing" : "present more than once")}.");
                if (entries[0].Length != storageBytes)
                    throw new InvalidDataException($"{fileName}: storage '{t.StorageKey}' holds {entries[0].Length:N0} bytes, its tensors declare {storageBytes:N0}.");
                storages.Add(t.StorageKey, storageBytes);
            }
            planned += storageBytes + tensorBytes;
            if (planned > budget)
                throw new InvalidDataException($"{fileName}: its tensors would take more than {budget:N0} bytes to read, far more than the model's own size (a storage shared by many tensors, or tensors the model does not have).");
        }
        return tensors;
    }

    /// <summary>Room for a .pth read by PyBridge: the model's tensors in float64, twice over (storage and tensor), plus 64 MiB.</summary>
    internal static long PickleBudget(Dictionary<string, Tensor> expected) => expected.Values.Sum(t => t.NumberOfElements) * 8 * 2 + (64L << 20);

    private static bool InsideStorage(PickledTensor t)
    {
        try
        {
            long last = t.Offset;
            for (int d = 0; d < t.Shape.Length; d++) last = checked(last + (t.Shape[d] - 1) * t.Stride[d]);
            return last < t.StorageElements;
        }
        catch (OverflowException) { return false; }
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
                $"{Path.GetFileName(path)}: not a PyTorch state dict in torch.save's zip format ({e.Message}).", e);
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
    /// mapping each name to {dtype, shape, data_offsets} (plus an optional "__metadata__"). Every tensor's dtype must
    /// be known, its shape non-negative, and its byte range [begin, end) inside the data that follows the header and
    /// exactly as long as the shape needs, so the loader never reads the header as weights or past the file.
    /// </summary>
    private static List<TensorEntry> ReadSafetensorsIndex(string path, string fileName)
    {
        InvalidDataException Bad(string reason) => new($"{fileName}: {reason}.");
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8) throw Bad("not a safetensors file: shorter than its 8-byte header length");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > (ulong)Math.Min(stream.Length - 8, MaxSafetensorsHeader))
            throw Bad($"not a safetensors file: bad header length {headerLength}");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = stream.Length - 8 - (long)headerLength;
        var entries = new List<TensorEntry>();
        var ranges = new List<(long Begin, long End, string Name)>();
        try
        {
            using var json = JsonDocument.Parse(header);
            if (json.RootElement.ValueKind != JsonValueKind.Object) throw Bad("the safetensors header is not a JSON object");
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                var name = property.Name;
                var value = property.Value;
                if (value.ValueKind != JsonValueKind.Object
                    || !value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
                    || !value.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array
                    || !value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
                    throw Bad($"tensor '{name}' lacks dtype, shape or data_offsets");
                var elementSize = SafetensorsElementSize(dtype.GetString()!) ?? throw Bad($"tensor '{name}' has an unknown dtype '{dtype.GetString()}'");
                if (shapeJson.GetArrayLength() > MaxRank) throw Bad($"tensor '{name}' declares {shapeJson.GetArrayLength()} dimensions");
                var shape = shapeJson.EnumerateArray().Select(d => d.TryGetInt64(out var v) ? v : -1).ToArray();
                var bytes = DataBytes(shape, elementSize) ?? throw Bad($"tensor '{name}' declares the shape {StateDictCheck.Format(shape)}");
                long begin = offsets[0].TryGetInt64(out var b) ? b : -1, end = offsets[1].TryGetInt64(out var e) ? e : -1;
                if (begin < 0 || end < begin || end > dataLength)
                    throw Bad($"tensor '{name}' has data_offsets [{offsets[0]},{offsets[1]}] outside the {dataLength:N0} data bytes");
                if (end - begin != bytes)
                    throw Bad($"tensor '{name}' has {end - begin:N0} data bytes, its shape {StateDictCheck.Format(shape)} needs {bytes:N0}");
                entries.Add(new TensorEntry(name, shape, SafetensorsType(dtype.GetString()!)));
                ranges.Add((begin, end, name));
            }
        }
        catch (JsonException e)
        {
            throw Bad($"the safetensors header is not valid JSON ({e.Message})");
        }
        // Each tensor owns its bytes: two ranges that overlap would load one tensor's bytes as another's.
        ranges.Sort((x, y) => x.Begin != y.Begin ? x.Begin.CompareTo(y.Begin) : x.End.CompareTo(y.End));
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i].Begin < ranges[i - 1].End)
                throw Bad($"tensors '{ranges[i - 1].Name}' [{ranges[i - 1].Begin},{ranges[i - 1].End}) and '{ranges[i].Name}' [{ranges[i].Begin},{ranges[i].End}) have overlapping data_offsets");
        return entries;
    }

    /// <summary>A ResNet-152 safetensors header is about 60 KB; anything past this is refused unread.</summary>
    private const long MaxSafetensorsHeader = 16 << 20;

    /// <summary>The element type a safetensors dtype names, compared with the model's (StateDictCheck): loading F16 bytes as F32 gives garbage.</summary>
    private static ScalarType SafetensorsType(string dtype) => dtype switch
    {
        "BOOL" => ScalarType.Bool, "U8" => ScalarType.Byte, "I8" => ScalarType.Int8,
        "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16, "I16" => ScalarType.Int16,
        "F32" => ScalarType.Float32, "I32" => ScalarType.Int32,
        "F64" => ScalarType.Float64, "I64" => ScalarType.Int64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "checked by SafetensorsElementSize first"),
    };

    private static long? SafetensorsElementSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" => 1,
        "F16" or "BF16" or "I16" => 2,
        "F32" or "I32" => 4,
        "F64" or "I64" => 8,
        _ => null,
    };
}
