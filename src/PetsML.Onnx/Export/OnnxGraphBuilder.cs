using System.Runtime.InteropServices;
using Google.Protobuf;
using PetsML.Trainers.Interop.Onnx.Proto;

namespace PetsML.Onnx.Export;

/// <summary>
/// Appends nodes, fp32 initializers and typed inputs/outputs to an ONNX <see cref="GraphProto"/> in the order
/// the data flows. Value names are made unique with a running number, so a caller only names what it means.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>ONNX's TensorProto.DataType codes used here.</summary>
    internal const int Float = 1, Uint8 = 2, Int64 = 7;

    private readonly GraphProto _graph;
    private int _counter;

    internal OnnxGraphBuilder(string name) => _graph = new GraphProto { Name = name };

    internal GraphProto Graph => _graph;

    /// <summary>Adds an fp32 initializer (little-endian raw_data) and returns its name.</summary>
    internal string Weight(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var count = dims.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
            throw new ArgumentException($"Initializer '{name}' has {values.Length} values for dims [{string.Join(", ", dims)}].", nameof(values));
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this machine is not.");
        var tensor = new TensorProto { Name = name, DataType = Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    internal string Int64Weight(string name, long[] values, params long[] dims)
    {
        if (dims.Aggregate(1L, (a, b) => a * b) != values.Length)
            throw new ArgumentException($"Initializer '{name}' has {values.Length} values for dims [{string.Join(", ", dims)}].", nameof(values));
        var tensor = new TensorProto { Name = name, DataType = Int64 };
        tensor.Int64Data.AddRange(values);
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a node with one output named after <paramref name="label"/> and returns the output's name.</summary>
    internal string Node(string opType, string label, IEnumerable<string> inputs, params AttributeProto[] attributes)
        => Nodes(opType, label, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs (e.g. TopK's values and indices) and returns their names.</summary>
    internal string[] Nodes(string opType, string label, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var names = Enumerable.Range(0, outputs).Select(i => i == 0 ? $"{label}_{_counter}" : $"{label}_{_counter}_{i}").ToArray();
        _counter++;
        var node = new NodeProto { OpType = opType, Name = names[0] };
        node.Input.AddRange(inputs);
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return names;
    }

    /// <summary>Renames the last node's output to <paramref name="name"/> (a graph output).</summary>
    internal void NameLastOutput(string name)
    {
        var node = _graph.Node[^1];
        node.Output[0] = name;
        node.Name = name;
    }

    internal void Input(string name, int elementType, params object[] dims) => _graph.Input.Add(Value(name, elementType, dims));

    internal void Output(string name, int elementType, params object[] dims) => _graph.Output.Add(Value(name, elementType, dims));

    internal static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = 7 };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    internal static AttributeProto Int(string name, long value) => new() { Name = name, Type = 2, I = value };

    /// <summary>A tensor type whose dims are numbers (fixed) or strings (symbolic, e.g. the batch "N").</summary>
    private static ValueInfoProto Value(string name, int elementType, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension {dim} of '{name}' is neither a size nor a symbol.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }
}
