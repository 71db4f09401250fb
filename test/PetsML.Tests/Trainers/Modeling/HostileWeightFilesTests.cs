using System.IO.Compression;
using System.Text;
using PetsML.Trainers.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

/// <summary>
/// Weight files made to hurt: each is a few bytes to a few hundred KB on disk, declares far more than it holds or
/// than the model needs, and must be refused with one <see cref="InvalidDataException"/> naming the file, before
/// anything large is allocated: the test counts the managed bytes this thread allocates during the load and the
/// tensors created inside a dispose scope around it.
/// </summary>
[TestClass]
public sealed class HostileWeightFilesTests
{
    string _folder = "";

    [TestInitialize]
    public void CreateFolder() => Directory.CreateDirectory(_folder = Path.Combine(Path.GetTempPath(), "petsml-hostile-" + Guid.NewGuid().ToString("N")));

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>weight [2,4] and bias [2]: 40 bytes of parameters.</summary>
    static nn.Module Small() => nn.Linear(4, 2);

    /// <summary>Loads and returns the refusal, asserting it allocated under 1 MB managed and created no tensor.</summary>
    static InvalidDataException RefusedCheaply(nn.Module module, string path)
    {
        using var scope = torch.NewDisposeScope();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => WeightFiles.Load(module, path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsLessThan(1L << 20, allocated, $"managed bytes allocated before the refusal: {allocated:N0}");
        Assert.AreEqual(0, scope.DisposablesCount, "no tensor is created before the refusal");
        StringAssert.StartsWith(e.Message, Path.GetFileName(path) + ": ");
        return e;
    }

    static void Leb128(List<byte> bytes, ulong value)
    {
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
    }

    /// <summary>A TorchSharp-format file with one float tensor header "weight" of <paramref name="shape"/> and no data.</summary>
    static byte[] DatHeader(params ulong[] shape)
    {
        var bytes = new List<byte>();
        Leb128(bytes, 1);
        bytes.Add(6);
        bytes.AddRange("weight"u8.ToArray());
        Leb128(bytes, (ulong)ScalarType.Float32);
        Leb128(bytes, (ulong)shape.Length);
        foreach (var d in shape) Leb128(bytes, d);
        return bytes.ToArray();
    }

    [TestMethod]
    public void A_21_byte_dat_declaring_a_gigabyte_tensor_is_refused_without_allocating_it()
    {
        var path = Path.Combine(_folder, "huge.dat");
        File.WriteAllBytes(path, [.. DatHeader(1UL << 28), .. new byte[21 - DatHeader(1UL << 28).Length]]);
        Assert.AreEqual(21, new FileInfo(path).Length);
        using var module = Small();
        var e = RefusedCheaply(module, path);
        Assert.AreEqual("huge.dat: tensor 'weight' declares [268435456] (1,073,741,824 bytes) but only 6 bytes are left.", e.Message);
    }

    [TestMethod]
    public void Dat_shapes_of_2_to_the_40_or_negative_or_absurd_rank_are_refused_without_a_native_error()
    {
        using var module = Small();
        var cases = new (string Name, byte[] Bytes, string Reason)[]
        {
            ("two-to-the-40.dat", DatHeader(1UL << 40), "declares [1099511627776] (4,398,046,511,104 bytes) but only 0 bytes are left"),
            ("overflow.dat", DatHeader(1UL << 40, 1UL << 40), "declares the shape [1099511627776,1099511627776]"),
            ("negative.dat", DatHeader(ulong.MaxValue), "a number in a tensor header is longer than 63 bits"),
            ("rank.dat", DatHeader(Enumerable.Repeat(1UL, 9).ToArray()), "declares 9 dimensions"),
            ("count.dat", [0xFF, 0xFF, 0xFF, 0x7F], "declares 268435455 tensors"),
            ("dtype.dat", [1, 6, .. "weight"u8.ToArray(), 99], "unknown element type code 99"),
            ("truncated.dat", [1, 6, .. "wei"u8.ToArray()], "it ends in the middle of a tensor header"),
        };
        foreach (var (name, bytes, reason) in cases)
        {
            var path = Path.Combine(_folder, name);
            File.WriteAllBytes(path, bytes);
            StringAssert.Contains(RefusedCheaply(module, path).Message, reason, name);
        }
    }

    /// <summary>A pickle builder for the few opcodes torch.save uses.</summary>
    sealed class Pickle
    {
        readonly List<byte> _bytes = [0x80, 2];
        public Pickle Op(char op) { _bytes.Add((byte)op); return this; }
        public Pickle Raw(params byte[] bytes) { _bytes.AddRange(bytes); return this; }
        public Pickle Global(string module, string name) => Op('c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        public Pickle Text(string s) { var b = Encoding.UTF8.GetBytes(s); Op('X').Raw(BitConverter.GetBytes(b.Length)); return Raw(b); }
        public Pickle Int(long v) => Op('J').Raw(BitConverter.GetBytes(checked((int)v)));
        public Pickle Tuple(IEnumerable<long> values) { Op('('); foreach (var v in values) Int(v); return Op('t'); }
        public byte[] ToArray() => [.. _bytes, (byte)'.'];

        /// <summary>OrderedDict of name -> _rebuild_tensor_v2(storage(FloatStorage, key, numel), offset, shape, contiguous stride).</summary>
        public static byte[] StateDict(params (string Name, string Key, long StorageElements, long[] Shape)[] tensors)
        {
            var p = new Pickle().Global("collections", "OrderedDict").Op(')').Op('R').Op('(');
            foreach (var (name, key, elements, shape) in tensors)
            {
                var stride = shape.Select((_, i) => shape.Skip(i + 1).Aggregate(1L, (a, b) => a * b));
                p.Text(name).Global("torch._utils", "_rebuild_tensor_v2").Op('(')
                    .Op('(').Text("storage").Global("torch", "FloatStorage").Text(key).Text("cpu").Int(elements).Op('t').Op('Q')
                    .Int(0).Tuple(shape).Tuple(stride).Raw(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R');
            }
            return p.Op('u').ToArray();
        }
    }

    /// <summary>A torch.save-style zip: archive/data.pkl plus one deflated storage entry per (key, bytes of zeros).</summary>
    static void WritePth(string path, byte[] pickle, params (string Key, long Zeros)[] storages)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(pickle);
        var zeros = new byte[1 << 20];
        foreach (var (key, count) in storages)
        {
            using var s = zip.CreateEntry("archive/data/" + key, CompressionLevel.SmallestSize).Open();
            for (long left = count; left > 0; left -= zeros.Length) s.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
    }

    [TestMethod]
    public void A_pth_zip_bomb_whose_storage_is_shared_by_every_tensor_is_refused_before_PyBridge_reads_it()
    {
        // 256 MiB of zeros (a few hundred KB deflated) referenced by both tensors, each of the right shape: PyBridge
        // would allocate the whole storage once per reference.
        const long elements = 1L << 26;
        var path = Path.Combine(_folder, "bomb.pth");
        WritePth(path, Pickle.StateDict(("weight", "0", elements, [2, 4]), ("bias", "0", elements, [2])), ("0", elements * 4));
        Assert.IsLessThan(1L << 20, new FileInfo(path).Length);
        using var module = Small();
        var e = RefusedCheaply(module, path);
        StringAssert.Contains(e.Message, "its tensors would take more than");
    }

    [TestMethod]
    public void Pth_storages_that_lie_about_their_size_or_layout_are_refused()
    {
        using var module = Small();
        var cases = new (string Name, byte[] Pickle, (string, long)[] Storages, string Reason)[]
        {
            ("short.pth", Pickle.StateDict(("weight", "0", 8, [2, 4]), ("bias", "1", 2, [2])), [("0", 32), ("1", 4)], "storage '1' holds 4 bytes, its tensors declare 8"),
            ("past.pth", Pickle.StateDict(("weight", "0", 4, [2, 4]), ("bias", "1", 2, [2])), [("0", 16), ("1", 8)], "tensor 'weight' reaches past the end of its storage '0'"),
            ("missing.pth", Pickle.StateDict(("weight", "0", 8, [2, 4]), ("bias", "1", 2, [2])), [("0", 32)], "storage '1' of tensor 'bias' is missing"),
            ("negative.pth", Pickle.StateDict(("weight", "0", -8, [2, 4])), [("0", 32)], "storage '0' declares -8 elements"),
            ("shape.pth", Pickle.StateDict(("weight", "0", 8, [2, -4])), [("0", 32)], "declares an impossible layout"),
        };
        foreach (var (name, pickle, storages, reason) in cases)
        {
            var path = Path.Combine(_folder, name);
            WritePth(path, pickle, storages);
            StringAssert.Contains(RefusedCheaply(module, path).Message, reason, name);
        }
    }

    /// <summary>
    /// data.pkl of 16 MiB (the size limit) that makes a new object with every byte: 16 MiB of <c>}</c> (empty dicts piling up
    /// on the stack), or <c>]</c> then <c>}a</c> repeated (dicts appended to one list, the stack staying shallow). Both used
    /// to grow to gigabytes; now each is refused once it passes its count, which bounds what the reader keeps.
    /// </summary>
    [TestMethod]
    [DataRow("}", "its stack grows past 100,000 values (PickledStateDictIndex.MaxStackDepth)")]
    [DataRow("}a", "it pushes more than 500,000 values (PickledStateDictIndex.MaxValues")]
    public void A_pickle_that_makes_an_object_a_byte_is_refused_at_its_object_or_stack_limit(string repeated, string reason)
    {
        var pickle = new byte[16 << 20];
        pickle.AsSpan().Fill((byte)repeated[^1]);
        int start = repeated.Length > 1 ? 3 : 2; // after PROTO 2 and, for appends, the list
        for (int i = start; i + repeated.Length < pickle.Length; i += repeated.Length)
            for (int k = 0; k < repeated.Length; k++) pickle[i + k] = (byte)repeated[k];
        pickle[0] = 0x80; pickle[1] = 2; // PROTO 2
        if (repeated.Length > 1) pickle[2] = (byte)']'; // the list the dicts are appended to
        pickle[^1] = (byte)'.';
        var path = Path.Combine(_folder, "objects.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open()) s.Write(pickle);
        Assert.IsLessThan(200_000, new FileInfo(path).Length, "a small file");

        using var module = Small();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => WeightFiles.Load(module, path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.AreEqual("objects.pth: data.pkl: " + reason, e.Message[..Math.Min(e.Message.Length, 23 + reason.Length)]);
        // The pickle itself (16 MiB) plus what the counts allow: at most 500,000 values of about 100 bytes.
        Assert.IsLessThan(100L << 20, allocated, $"managed bytes allocated before the refusal: {allocated:N0}");
    }

    [TestMethod]
    public void A_pth_whose_pickle_calls_os_system_is_refused_and_nothing_runs()
    {
        var marker = Path.Combine(_folder, "ran");
        var pickle = new Pickle().Global("os", "system").Text($"touch {marker}").Raw(0x85).Op('R').ToArray();
        var path = Path.Combine(_folder, "evil.pth");
        WritePth(path, pickle);
        using var module = Small();
        var e = RefusedCheaply(module, path);
        Assert.AreEqual("evil.pth: data.pkl: it calls os.system, which a state dict never does (refused, nothing was run).", e.Message);
        Assert.IsFalse(File.Exists(marker));

        // A whole pickled model (nn.Parameter objects) is named as such.
        var model = new Pickle().Global("torch._utils", "_rebuild_parameter").Op(')').Op('R').ToArray();
        var whole = Path.Combine(_folder, "whole-model.pth");
        WritePth(whole, model);
        StringAssert.Contains(RefusedCheaply(module, whole).Message, "holds a whole model");
    }

    [TestMethod]
    public void Damaged_pth_and_safetensors_files_are_one_named_InvalidDataException()
    {
        using var module = Small();
        var cases = new (string Name, byte[] Bytes, string Reason)[]
        {
            ("garbage.pth", [.. "PK\u0003\u0004"u8.ToArray(), .. Enumerable.Range(0, 200).Select(i => (byte)(i * 37))], "a damaged zip"),
            ("legacy.pth", [0x80, 2, (byte)'K', 1, (byte)'.'], "not a PyTorch state dict in torch.save's zip format"),
            ("empty.safetensors", [1, 2, 3], "shorter than its 8-byte header length"),
            ("json.safetensors", [.. BitConverter.GetBytes(5L), .. "{\"a\":"u8.ToArray()], "the safetensors header is not valid JSON"),
        };
        foreach (var (name, bytes, reason) in cases)
        {
            var path = Path.Combine(_folder, name);
            File.WriteAllBytes(path, bytes);
            StringAssert.Contains(RefusedCheaply(module, path).Message, reason, name);
        }
    }

    static byte[] Safetensors(string header, int dataBytes) =>
        [.. BitConverter.GetBytes((long)Encoding.UTF8.GetByteCount(header)), .. Encoding.UTF8.GetBytes(header), .. new byte[dataBytes]];

    [TestMethod]
    public void Safetensors_offsets_outside_the_data_or_not_matching_the_shape_are_refused()
    {
        using var module = Small();
        const string bias = "\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}";
        var cases = new (string Name, string Weight, string Reason)[]
        {
            // The file: negative offsets made the loader read the header's bytes as the first convolution.
            ("negative.safetensors", "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[-32,0]}", "data_offsets [-32,0] outside the 40 data bytes"),
            ("past.safetensors", "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[32,64]}", "data_offsets [32,64] outside the 40 data bytes"),
            ("size.safetensors", "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,16]}", "has 16 data bytes, its shape [2,4] needs 32"),
            ("huge.safetensors", "\"weight\":{\"dtype\":\"F32\",\"shape\":[268435456],\"data_offsets\":[0,32]}", "has 32 data bytes, its shape [268435456] needs 1,073,741,824"),
            ("dtype.safetensors", "\"weight\":{\"dtype\":\"F99\",\"shape\":[2,4],\"data_offsets\":[0,32]}", "unknown dtype 'F99'"),
            ("shape.safetensors", "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,-4],\"data_offsets\":[0,32]}", "declares the shape [2,-4]"),
            ("fields.safetensors", "\"weight\":{\"dtype\":\"F32\"}", "lacks dtype, shape or data_offsets"),
            // The weight's range overlaps the bias's: the bias bytes would load as part of the weight too.
            ("overlap.safetensors", "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[8,40]}", "tensors 'weight' [8,40) and 'bias' [32,40) have overlapping data_offsets"),
            // F16 bytes where the model holds F32 would be read as other numbers (a run ended with a NaN loss).
            ("half.safetensors", "\"weight\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]}", "tensor 'weight' has element type Float16, the model expects Float32"),
        };
        foreach (var (name, weight, reason) in cases)
        {
            var path = Path.Combine(_folder, name);
            File.WriteAllBytes(path, Safetensors("{" + weight + "," + bias + "}", 40));
            StringAssert.Contains(RefusedCheaply(module, path).Message, reason, name);
        }

        // The same layout with correct offsets loads.
        var good = Path.Combine(_folder, "good.safetensors");
        File.WriteAllBytes(good, Safetensors("{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,32]}," + bias + "}", 40));
        WeightFiles.Load(module, good);
        Assert.AreEqual(0f, module.state_dict()["weight"].abs().sum().item<float>());
    }

    [TestMethod]
    public void A_damaged_onnx_file_is_one_named_InvalidDataException()
    {
        var truncated = Path.Combine(_folder, "truncated.onnx");
        File.WriteAllBytes(truncated, [0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 1, 2, 3]); // graph (field 7) declaring 2 GB, then 3 bytes
        var e = Assert.ThrowsExactly<InvalidDataException>(() => PetsML.Trainers.Interop.Onnx.PackagedResNet18.LoadStateDict(truncated));
        StringAssert.StartsWith(e.Message, "truncated.onnx is not a readable ONNX file (");

        var empty = Path.Combine(_folder, "empty.onnx");
        File.WriteAllBytes(empty, []);
        e = Assert.ThrowsExactly<InvalidDataException>(() => PetsML.Trainers.Interop.Onnx.PackagedResNet18.LoadStateDict(empty));
        Assert.AreEqual("empty.onnx holds no ONNX graph.", e.Message);
    }
}
