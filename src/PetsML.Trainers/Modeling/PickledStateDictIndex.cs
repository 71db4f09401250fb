using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PetsML.Transforms.Interop;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>One tensor of a torch.save state dict as its pickle declares it: nothing is allocated for it.</summary>
internal sealed record PickledTensor(string Name, ScalarType DType, string StorageKey, long StorageElements, long Offset, long[] Shape, long[] Stride);

/// <summary>
/// Reads what a PyTorch state dict saved by <c>torch.save</c> (zip format) declares, without creating a tensor or
/// running anything: <c>data.pkl</c> is interpreted by a small pickle machine that knows only the opcodes and the few
/// callables a state dict uses (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>, the storage
/// classes); any other callable (<c>os.system</c>, <c>builtins.eval</c>, ...) is refused by name. Python's pickle would
/// call it; this reader never calls anything. Every failure is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class PickledStateDictIndex
{
    /// <summary>data.pkl of a ResNet-152 state dict is under 100 KB; a pickle larger than this is refused unread.</summary>
    internal const long MaxPickleBytes = 16 << 20;

    /// <summary>
    /// Most values the pickle may push (each one an object the reader keeps, or a reference to one): a ResNet-152 state
    /// dict pushes about 25 a tensor, 25,000 in all. Without it 16 MiB of <c>}</c> (one new dict a byte) took 1.32 GB.
    /// </summary>
    internal const int MaxValues = 500_000;

    /// <summary>Deepest the pickle's stack may grow: a state dict's is deepest at a SETITEMS batch (1,000 pairs, 2,001 values).</summary>
    internal const int MaxStackDepth = 100_000;

    /// <summary>Most memo entries: one per memoised value at most, so the same order as <see cref="MaxValues"/>.</summary>
    internal const int MaxMemoEntries = MaxValues;

    sealed record Global(string Module, string Name);
    sealed record Storage(ScalarType DType, string Key, long Elements);
    sealed record Rebuilt(Storage Storage, long Offset, long[] Shape, long[] Stride);
    sealed class Dict { public readonly List<KeyValuePair<object?, object?>> Items = []; }
    sealed class Mark;

    static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>The tensors <paramref name="archive"/>'s data.pkl declares, in pickle order.</summary>
    internal static List<PickledTensor> Read(ZipArchive archive, string fileName)
    {
        var pkl = archive.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
        if (pkl.Count != 1) throw Bad(fileName, pkl.Count == 0 ? "no data.pkl inside" : "more than one data.pkl inside");
        byte[] bytes;
        try { bytes = BoundedZipEntry.Read(pkl[0], MaxPickleBytes); }
        catch (InvalidDataException e) { throw Bad(fileName, e.Message.TrimEnd('.')); }
        var root = new Machine(bytes, fileName).Run();
        if (root is not Dict dict) throw Bad(fileName, "data.pkl does not hold a dict of tensors; save model.state_dict(), not the model");
        var result = new List<PickledTensor>();
        foreach (var (key, value) in dict.Items)
        {
            if (key is not string name || value is not Rebuilt t)
                throw Bad(fileName, $"entry '{key}' is not a tensor; save model.state_dict(), not the model");
            result.Add(new PickledTensor(name, t.Storage.DType, t.Storage.Key, t.Storage.Elements, t.Offset, t.Shape, t.Stride));
        }
        return result;
    }

    static InvalidDataException Bad(string fileName, string reason) => new($"{fileName}: {reason}.");

    /// <summary>A pickle interpreter for the opcodes torch.save emits (protocols 2 to 5), calling nothing.</summary>
    sealed class Machine(byte[] code, string fileName)
    {
        readonly Stack<object?> _stack = new();
        readonly Dictionary<long, object?> _memo = [];
        int _at;
        int _values;

        /// <summary>Pushes a value, refusing the pickle once it pushed <see cref="MaxValues"/> or its stack is <see cref="MaxStackDepth"/> deep.</summary>
        void Push(object? value)
        {
            if (++_values > MaxValues)
                throw Fail($"it pushes more than {MaxValues:N0} values (PickledStateDictIndex.MaxValues; a state dict pushes about 25 a tensor)");
            if (_stack.Count >= MaxStackDepth)
                throw Fail($"its stack grows past {MaxStackDepth:N0} values (PickledStateDictIndex.MaxStackDepth)");
            _stack.Push(value);
        }

        void Memoize(long key)
        {
            if (_memo.Count >= MaxMemoEntries && !_memo.ContainsKey(key))
                throw Fail($"it memoises more than {MaxMemoEntries:N0} values (PickledStateDictIndex.MaxMemoEntries)");
            _memo[key] = Peek();
        }

        public object? Run()
        {
            while (true)
            {
                byte op = Byte();
                switch (op)
                {
                    case 0x80: Byte(); break;                                   // PROTO
                    case 0x95: Bytes(8); break;                                 // FRAME
                    case (byte)'.': return _stack.Count == 1 ? _stack.Pop() : throw Fail("STOP with a damaged stack"); // STOP
                    case (byte)'(': Push(new Mark()); break;             // MARK
                    case (byte)'N': Push(null); break;
                    case 0x88: Push(true); break;
                    case 0x89: Push(false); break;
                    case (byte)'K': Push((long)Byte()); break;           // BININT1
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                    case 0x8a: Push(Long1(Byte())); break;               // LONG1
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                    case (byte)'X': Push(Text(Length32())); break;       // BINUNICODE
                    case 0x8c: Push(Text(Byte())); break;                // SHORT_BINUNICODE
                    case (byte)'U': Push(Encoding.Latin1.GetString(Bytes(Byte()))); break; // SHORT_BINSTRING
                    case (byte)'T': Push(Encoding.Latin1.GetString(Bytes(Length32()))); break; // BINSTRING
                    case (byte)'}': Push(new Dict()); break;
                    case (byte)']': Push(new List<object?>()); break;
                    case (byte)')': Push(Array.Empty<object?>()); break;
                    case (byte)'t': Push(PopToMark().ToArray()); break;  // TUPLE
                    case 0x85: Push(new[] { Pop() }); break;
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                    case (byte)'q': Memoize(Byte()); break;                     // BINPUT
                    case (byte)'r': Memoize(Length32()); break;                 // LONG_BINPUT
                    case 0x94: Memoize(_memo.Count); break;                     // MEMOIZE
                    case (byte)'h': Push(Memo(Byte())); break;           // BINGET
                    case (byte)'j': Push(Memo(Length32())); break;       // LONG_BINGET
                    case (byte)'c': Push(Allowed(Line(), Line())); break; // GLOBAL
                    case 0x93: { var name = Pop(); var module = Pop(); Push(Allowed(module as string ?? "?", name as string ?? "?")); break; } // STACK_GLOBAL
                    case (byte)'Q': Push(Persistent(Pop())); break;      // BINPERSID
                    case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, args)); break; }
                    case (byte)'b': { Pop(); if (Peek() is not Dict) throw Fail("BUILD on something that is not a dict"); break; } // BUILD: the state (_metadata) is not needed
                    case (byte)'s': { var v = Pop(); var k = Pop(); DictOnTop().Items.Add(new(k, v)); break; } // SETITEM
                    case (byte)'u': { var items = PopToMark(); var d = DictOnTop(); for (int i = 0; i + 1 < items.Count; i += 2) d.Items.Add(new(items[i], items[i + 1])); break; }
                    case (byte)'a': { var v = Pop(); ListOnTop().Add(v); break; } // APPEND
                    case (byte)'e': { var items = PopToMark(); ListOnTop().AddRange(items); break; } // APPENDS
                    default: throw Fail($"pickle opcode 0x{op:x2} at byte {_at - 1}, which a state dict does not use");
                }
            }
        }

        InvalidDataException Fail(string reason) => Bad(fileName, $"data.pkl: {reason}");

        byte Byte() => _at < code.Length ? code[_at++] : throw Fail("it ends early");

        ReadOnlySpan<byte> Bytes(long n)
        {
            if (n < 0 || n > code.Length - _at) throw Fail("it ends early");
            var span = code.AsSpan(_at, (int)n);
            _at += (int)n;
            return span;
        }

        long Length32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

        string Text(long n) => Encoding.UTF8.GetString(Bytes(n));

        string Line()
        {
            int end = Array.IndexOf(code, (byte)'\n', _at);
            if (end < 0) throw Fail("it ends early");
            var text = Encoding.UTF8.GetString(code, _at, end - _at);
            _at = end + 1;
            return text;
        }

        long Long1(int n)
        {
            if (n > 8) throw Fail("an integer longer than 8 bytes");
            Span<byte> eight = stackalloc byte[8];
            var bytes = Bytes(n);
            bytes.CopyTo(eight);
            if (n > 0 && (bytes[n - 1] & 0x80) != 0) eight[n..].Fill(0xFF);
            return BinaryPrimitives.ReadInt64LittleEndian(eight);
        }

        object? Pop() => _stack.Count > 0 && _stack.Peek() is not Mark ? _stack.Pop() : throw Fail("a damaged stack");
        object? Peek() => _stack.Count > 0 ? _stack.Peek() : throw Fail("a damaged stack");
        object? Memo(long key) => _memo.TryGetValue(key, out var value) ? value : throw Fail($"memo {key} is read before it is written");
        Dict DictOnTop() => Peek() as Dict ?? throw Fail("SETITEM on something that is not a dict");
        List<object?> ListOnTop() => Peek() as List<object?> ?? throw Fail("APPEND on something that is not a list");

        List<object?> PopToMark()
        {
            var items = new List<object?>();
            while (true)
            {
                if (_stack.Count == 0) throw Fail("a damaged stack");
                var item = _stack.Pop();
                if (item is Mark) break;
                items.Add(item);
            }
            items.Reverse();
            return items;
        }

        Global Allowed(string module, string name)
        {
            bool ok = (module, name) switch
            {
                ("collections", "OrderedDict") => true,
                ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor" or "_rebuild_parameter") => true,
                ("torch", _) => StorageTypes.ContainsKey(name),
                _ => false,
            };
            if (!ok) throw Fail($"it calls {module}.{name}, which a state dict never does (refused, nothing was run)");
            return new Global(module, name);
        }

        Storage Persistent(object? pid)
        {
            if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not Global { Module: "torch" } type
                || t[2] is not string key || t[4] is not long elements)
                throw Fail("a persistent id that is not a tensor storage");
            if (elements < 0) throw Fail($"storage '{key}' declares {elements} elements");
            return new Storage(StorageTypes[type.Name], key, elements);
        }

        object? Reduce(object? callable, object? args)
        {
            if (callable is not Global g || args is not object?[] a) throw Fail("REDUCE without a callable and its arguments");
            switch (g.Name)
            {
                case "OrderedDict" when a.Length == 0 || (a.Length == 1 && a[0] is object?[] { Length: 0 } or List<object?> { Count: 0 }): // OrderedDict() or OrderedDict(()), as PyBridge writes it
                    return new Dict();
                case "_rebuild_tensor_v2" or "_rebuild_tensor" when a.Length >= 4 && a[0] is Storage s && a[1] is long offset:
                    return new Rebuilt(s, offset, Longs(a[2], "size"), Longs(a[3], "stride"));
                case "_rebuild_parameter":
                    throw Fail("it holds a whole model (nn.Parameter objects), not a state dict; save model.state_dict()");
                default:
                    throw Fail($"{g.Module}.{g.Name} called with arguments a state dict does not use");
            }
        }

        long[] Longs(object? value, string what) => value is object?[] items && items.All(i => i is long)
            ? items.Select(i => (long)i!).ToArray()
            : throw Fail($"a tensor {what} that is not a tuple of integers");
    }
}
