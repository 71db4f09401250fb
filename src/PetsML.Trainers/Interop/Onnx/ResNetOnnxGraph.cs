using PetsML.Trainers.Interop.Onnx.Proto;

namespace PetsML.Trainers.Interop.Onnx;

/// <summary>Where a torchvision state-dict entry comes from in an ONNX graph.</summary>
/// <param name="TorchName">torchvision-style name, e.g. <c>layer2.0.downsample.1.running_var</c>.</param>
/// <param name="Initializer">The ONNX initializer holding its values.</param>
internal sealed record OnnxWeightSource(string TorchName, TensorProto Initializer);

/// <summary>
/// Derives the torchvision names of a BasicBlock ResNet's weights from the structure of its ONNX graph instead of a
/// hard-coded table, so a mislabelled or different export fails loudly:
/// the first Conv is <c>conv1</c> and the BatchNormalization reading it <c>bn1</c>; each Add closes a block whose
/// main branch is BN ← Conv ← Relu ← BN ← Conv (conv2/bn2, conv1/bn1); a BN ← Conv shortcut is the block's
/// <c>downsample.1</c>/<c>downsample.0</c>; a new <c>layerN</c> starts whenever the block's out-channel count changes.
/// Every initializer must be used exactly once.
/// </summary>
internal static class ResNetOnnxGraph
{
    private static readonly string[] NormSuffixes = ["weight", "bias", "running_mean", "running_var"];

    internal static List<OnnxWeightSource> MapWeights(GraphProto graph, string sourceName)
    {
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var tensor in graph.Initializer) initializers[tensor.Name] = tensor;
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var output in node.Output) producers[output] = node;

        var map = new List<OnnxWeightSource>();
        var used = new HashSet<string>(StringComparer.Ordinal);

        void Add(string torchName, string initializerName)
        {
            if (!initializers.TryGetValue(initializerName, out var tensor))
                throw Fail($"'{initializerName}' (for {torchName}) is not an initializer");
            if (!used.Add(initializerName))
                throw Fail($"initializer '{initializerName}' is used twice (again for {torchName})");
            map.Add(new OnnxWeightSource(torchName, tensor));
        }

        void AddConv(string prefix, NodeProto conv) => Add($"{prefix}.weight", Input(conv, 1));

        void AddNorm(string prefix, NodeProto norm)
        {
            for (var i = 0; i < NormSuffixes.Length; i++) Add($"{prefix}.{NormSuffixes[i]}", Input(norm, i + 1));
        }

        // Stem: the first Conv and the BatchNormalization that reads its output.
        var stemConv = graph.Node.FirstOrDefault(n => n.OpType == "Conv") ?? throw Fail("the graph has no Conv");
        var stemNorm = graph.Node.FirstOrDefault(n => n.OpType == "BatchNormalization" && n.Input.Count > 0 && n.Input[0] == stemConv.Output[0])
            ?? throw Fail("no BatchNormalization reads the first Conv");
        AddConv("conv1", stemConv);
        AddNorm("bn1", stemNorm);

        var layer = 1;
        var block = -1;
        long? previousChannels = null;
        foreach (var add in graph.Node.Where(n => n.OpType == "Add"))
        {
            if (add.Input.Count != 2) throw Fail($"Add node '{add.Name}' does not have 2 inputs");
            var (main, shortcut) = TraceMain(add.Input[0], producers) is { } m0
                ? (m0, add.Input[1])
                : TraceMain(add.Input[1], producers) is { } m1
                    ? (m1, add.Input[0])
                    : throw Fail($"neither input of Add node '{add.Name}' is a conv-BN-ReLU-conv-BN branch");

            var channels = Dims(Initializer(Input(main.Conv2, 1), initializers))[0];
            if (previousChannels is { } previous && channels != previous)
            {
                layer++;
                block = 0;
            }
            else
            {
                block++;
            }
            previousChannels = channels;

            var prefix = $"layer{layer}.{block}";
            AddConv($"{prefix}.conv1", main.Conv1);
            AddNorm($"{prefix}.bn1", main.Norm1);
            AddConv($"{prefix}.conv2", main.Conv2);
            AddNorm($"{prefix}.bn2", main.Norm2);
            if (producers.TryGetValue(shortcut, out var shortcutNode) && shortcutNode.OpType == "BatchNormalization")
            {
                var downsampleConv = Producer(Input(shortcutNode, 0), producers, "Conv")
                    ?? throw Fail($"the shortcut BatchNormalization of {prefix} does not read a Conv");
                AddConv($"{prefix}.downsample.0", downsampleConv);
                AddNorm($"{prefix}.downsample.1", shortcutNode);
            }
        }

        if (block < 0) throw Fail("the graph has no Add nodes, so no residual blocks");
        var unused = initializers.Keys.Where(k => !used.Contains(k)).ToList();
        if (unused.Count > 0)
            throw Fail($"{unused.Count} initializer(s) map to no ResNet weight, e.g. '{unused[0]}'");
        return map;

        InvalidDataException Fail(string reason) =>
            new($"{sourceName}: cannot map the ONNX graph onto a torchvision ResNet: {reason}.");
    }

    internal static long[] Dims(TensorProto tensor) => tensor.Dims.ToArray();

    private sealed record MainBranch(NodeProto Conv1, NodeProto Norm1, NodeProto Conv2, NodeProto Norm2);

    /// <summary>Follows BN ← Conv ← Relu ← BN ← Conv back from <paramref name="value"/>; null when the chain differs.</summary>
    private static MainBranch? TraceMain(string value, Dictionary<string, NodeProto> producers)
    {
        var norm2 = Producer(value, producers, "BatchNormalization");
        var conv2 = norm2 is null ? null : Producer(Input(norm2, 0), producers, "Conv");
        var relu = conv2 is null ? null : Producer(Input(conv2, 0), producers, "Relu");
        var norm1 = relu is null ? null : Producer(Input(relu, 0), producers, "BatchNormalization");
        var conv1 = norm1 is null ? null : Producer(Input(norm1, 0), producers, "Conv");
        return conv1 is null ? null : new MainBranch(conv1, norm1!, conv2!, norm2!);
    }

    private static NodeProto? Producer(string value, Dictionary<string, NodeProto> producers, string opType) =>
        producers.TryGetValue(value, out var node) && node.OpType == opType ? node : null;

    private static string Input(NodeProto node, int index) =>
        index < node.Input.Count ? node.Input[index] : throw new InvalidDataException(
            $"ONNX node '{node.Name}' ({node.OpType}) has {node.Input.Count} inputs, expected at least {index + 1}.");

    private static TensorProto Initializer(string name, Dictionary<string, TensorProto> initializers) =>
        initializers.TryGetValue(name, out var tensor)
            ? tensor
            : throw new InvalidDataException($"ONNX weight '{name}' is not an initializer.");
}
