using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Interop.Onnx.Proto;
using PetsML.Trainers.Modeling;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using TorchSharp;
using static PetsML.Onnx.Export.OnnxGraphBuilder;

namespace PetsML.Onnx.Export;

/// <summary>What <see cref="OnnxExporter"/> wrote.</summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="InputName">The uint8 image input.</param>
/// <param name="InputShape">Its shape; -1 is the dynamic batch axis.</param>
/// <param name="OutputName">The probabilities output, [N, classes].</param>
/// <param name="ClassNames">Class names in output order.</param>
/// <param name="OutlierScoreName">The out-of-distribution output, [N, 1]; null when the model has no score.</param>
internal sealed record OnnxExportResult(string Path, long Bytes, string InputName, long[] InputShape, string OutputName, IReadOnlyList<string> ClassNames, string? OutlierScoreName);

/// <summary>
/// Writes a fitted PetsML classifier as one ONNX file (opset 17): uint8 RGB pixels in, softmax probabilities out,
/// with the normalisation, the ResNet body (each BatchNorm folded into the convolution before it), fastai's
/// concat-pool head (max then average, flatten, each BatchNorm1d folded into the linear after it, dropout omitted as
/// in eval mode, ReLU) and the softmax in the graph, plus the OutlierScore as a second output when the model has one. Weights are fp32 whatever precision the model was trained in
/// (the transformer's <see cref="ImageClassifierTransformer.Model"/> holds the fp32 master weights). The resize and
/// crop stay outside the graph: see <see cref="OnnxPreprocessing.Describe"/>, also in the file's metadata.
/// </summary>
internal static class OnnxExporter
{
    /// <summary>ONNX opset the graph uses (every op here is unchanged since opset 13).</summary>
    public const int Opset = 17;

    /// <summary>ONNX IR version written (IR 8 goes with opset 17).</summary>
    private const int IrVersion = 8;

    /// <summary>
    /// Exports the classifier of a fitted PetsML pipeline (<c>mlContext.Model.Load</c> of a .zip, or the result of
    /// <c>Fit</c>) with the pipeline's own presize size, trained size and normalisation statistics.
    /// </summary>
    /// <exception cref="ArgumentException">The pipeline has no PetsML image classifier.</exception>
    public static OnnxExportResult Export(ITransformer model, string onnxPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (classifier, preprocessing) = FindClassifier(model);
        return Export(classifier, preprocessing, onnxPath, options);
    }

    /// <summary>
    /// The last <see cref="ImageClassifierTransformer"/> of <paramref name="model"/> and the preprocessing of the
    /// presize and augmentation steps that feed it (PetsML's defaults for the steps it cannot find).
    /// </summary>
    public static (ImageClassifierTransformer Classifier, OnnxPreprocessing Preprocessing) FindClassifier(ITransformer model)
    {
        var steps = Flatten(model).ToList();
        var classifier = steps.OfType<ImageClassifierTransformer>().LastOrDefault()
            ?? throw new ArgumentException("The model has no PetsML image classifier (ImageClassifierTransformer) in it.", nameof(model));
        var augment = steps.OfType<AugmentTransformer>().LastOrDefault(a => a.OutputColumnName == classifier.FeatureColumnName);
        var presize = augment is null ? null : steps.OfType<PresizeTransformer>().LastOrDefault(p => p.OutputColumnName == augment.InputColumnName);
        var preprocessing = new OnnxPreprocessing(
            presize?.Options ?? new PresizeOptions(),
            classifier.ImageSize,
            augment?.Options.Normalization ?? NormalizationStats.ImageNet);
        return (classifier, preprocessing);
    }

    /// <summary>Exports <paramref name="classifier"/>, whose input was normalised as <paramref name="preprocessing"/> says.</summary>
    /// <remarks>The file is written to a temporary name next to <paramref name="onnxPath"/> and moved into place, so no half-written model is left.</remarks>
    public static OnnxExportResult Export(ImageClassifierTransformer classifier, OnnxPreprocessing preprocessing, string onnxPath, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(preprocessing);
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        options ??= new OnnxExportOptions();
        options.Validate();
        if (preprocessing.ImageSize != classifier.ImageSize)
            throw new ArgumentException($"The preprocessing's image size {preprocessing.ImageSize} differs from the classifier's {classifier.ImageSize}.", nameof(preprocessing));

        var model = BuildModel(classifier, preprocessing, options);
        var full = Path.GetFullPath(onnxPath);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = File.Create(temporary))
                model.WriteTo(stream);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }

        var size = classifier.ImageSize;
        long[] shape = options.InputLayout == OnnxInputLayout.Nchw ? [-1, 3, size, size] : [-1, size, size, 3];
        return new OnnxExportResult(full, new FileInfo(full).Length, options.InputName, shape, options.OutputName, classifier.ClassNames.ToArray(),
            classifier.Calibration is null ? null : options.OutlierScoreName);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var step in chain)
                foreach (var inner in Flatten(step)) yield return inner;
        }
        else
        {
            yield return model;
        }
    }

    internal static ModelProto BuildModel(ImageClassifierTransformer classifier, OnnxPreprocessing preprocessing, OnnxExportOptions options)
    {
        using var scope = torch.NewDisposeScope();
        var weights = new NetworkWeights(classifier.Model);
        var graph = new OnnxGraphBuilder(options.GraphName);
        int size = classifier.ImageSize, classes = classifier.ClassNames.Count;

        if (options.InputLayout == OnnxInputLayout.Nchw)
            graph.Input(options.InputName, Uint8, "N", 3, size, size);
        else
            graph.Input(options.InputName, Uint8, "N", size, size, 3);
        var x = graph.Node("Cast", "pixels", [options.InputName], Int("to", Float));
        if (options.InputLayout == OnnxInputLayout.Nhwc)
            x = graph.Node("Transpose", "planar", [x], Ints("perm", 0, 3, 1, 2));
        x = Normalize(graph, x, weights, preprocessing.Normalization);
        x = Body(graph, x, weights, classifier.Model.Body);
        var (pooled, logits) = Head(graph, x, weights);
        weights.EnsureAllTaken();
        x = logits;
        // The calibration's temperature (docs/calibration.md): softmax(logits / T), as the classifier's Score.
        if (classifier.Temperature != 1f)
            x = graph.Node("Div", "calibrated", [x, graph.Weight("temperature", [classifier.Temperature], 1)]);
        graph.Node("Softmax", "softmax", [x], Int("axis", 1));
        graph.NameLastOutput(options.OutputName);
        graph.Output(options.OutputName, Float, "N", classes);
        if (classifier.Calibration is { } calibration)
        {
            // The classifier's OutlierScore (docs/calibration.md) as [N, 1], not [N], so that every output keeps a
            // dimension after the batch axis (Triton's config needs one).
            if (calibration.FeatureRows is not null) NearestNeighbourDistance(graph, pooled, calibration);
            else graph.Node("Neg", "energy", [graph.Node("ReduceLogSumExp", "logsumexp", [logits], Ints("axes", 1), Int("keepdims", 1))]);
            graph.NameLastOutput(options.OutlierScoreName);
            graph.Output(options.OutlierScoreName, Float, "N", 1);
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "PetsML",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Domain = "ai.petsml",
            ModelVersion = 1,
            DocString = $"PetsML image classifier ({classifier.Architecture}, {classes} classes). {preprocessing.Describe()}",
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in Metadata(classifier, preprocessing, options))
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    /// <summary>The metadata_props keys; <c>petsml.classes</c> is a JSON array in output order.</summary>
    private static IEnumerable<(string, string)> Metadata(ImageClassifierTransformer classifier, OnnxPreprocessing preprocessing, OnnxExportOptions options)
    {
        string Floats(float[] v) => JsonSerializer.Serialize(v);
        var size = classifier.ImageSize.ToString(CultureInfo.InvariantCulture);
        yield return ("petsml.classes", JsonSerializer.Serialize(classifier.ClassNames));
        yield return ("petsml.architecture", classifier.Architecture.ToString());
        yield return ("petsml.input", options.InputName);
        yield return ("petsml.input_layout", options.InputLayout == OnnxInputLayout.Nchw ? "NCHW" : "NHWC");
        yield return ("petsml.input_format", "uint8 RGB, 0..255");
        yield return ("petsml.output", options.OutputName);
        yield return ("petsml.image_size", size);
        yield return ("petsml.presize_method", preprocessing.Presize.Method.ToString().ToLowerInvariant());
        yield return ("petsml.presize_width", preprocessing.Presize.TargetWidth.ToString(CultureInfo.InvariantCulture));
        yield return ("petsml.presize_height", preprocessing.Presize.TargetHeight.ToString(CultureInfo.InvariantCulture));
        yield return ("petsml.presize_pad_mode", preprocessing.Presize.PadMode.ToString().ToLowerInvariant());
        yield return ("petsml.normalization_mean", Floats(preprocessing.Normalization.Mean));
        yield return ("petsml.normalization_std", Floats(preprocessing.Normalization.Std));
        yield return ("petsml.preprocessing", preprocessing.Describe());
        yield return ("petsml.temperature", classifier.Temperature.ToString("R", CultureInfo.InvariantCulture));
        if (classifier.Calibration is not null)
            yield return ("petsml.outlier_score", options.OutlierScoreName);
        if (classifier.UnknownThreshold is { } threshold)
            yield return ("petsml.unknown_threshold", threshold.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// pixels·a + b per channel: the pipeline's (p/255 − mean)/std followed by the classifier's own input map
    /// (x·input_scale + input_shift), composed in double.
    /// </summary>
    private static string Normalize(OnnxGraphBuilder graph, string x, NetworkWeights weights, NormalizationStats stats)
    {
        var inScale = weights.Take("input_scale");
        var inShift = weights.Take("input_shift");
        var a = new float[3];
        var b = new float[3];
        for (var c = 0; c < 3; c++)
        {
            a[c] = (float)((double)inScale[c] / (255.0 * stats.Std[c]));
            b[c] = (float)(inShift[c] - (double)stats.Mean[c] * inScale[c] / stats.Std[c]);
        }
        x = graph.Node("Mul", "scaled", [x, graph.Weight("normalize.scale", a, 1, 3, 1, 1)]);
        return graph.Node("Add", "normalized", [x, graph.Weight("normalize.shift", b, 1, 3, 1, 1)]);
    }

    /// <summary>conv1/bn1/relu/maxpool, then every block of layer1..layer4 in torchvision's order.</summary>
    private static string Body(OnnxGraphBuilder graph, string x, NetworkWeights weights, ResNetBody body)
    {
        x = ConvNorm(graph, x, weights, "body.conv1", "body.bn1", stride: 2, padding: 3);
        x = graph.Node("Relu", "relu", [x]);
        x = graph.Node("MaxPool", "maxpool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1));
        for (var layer = 1; layer <= 4; layer++)
        {
            for (var block = 0; weights.Has($"body.layer{layer}.{block}.conv1.weight"); block++)
            {
                var prefix = $"body.layer{layer}.{block}";
                // torchvision: stride 2 on the first block of layers 2-4 (the 3x3 conv of a Bottleneck, conv1 of a BasicBlock).
                var stride = layer > 1 && block == 0 ? 2 : 1;
                var bottleneck = weights.Has($"{prefix}.conv3.weight");
                string y;
                if (bottleneck)
                {
                    y = graph.Node("Relu", "relu", [ConvNorm(graph, x, weights, $"{prefix}.conv1", $"{prefix}.bn1", 1, 0)]);
                    y = graph.Node("Relu", "relu", [ConvNorm(graph, y, weights, $"{prefix}.conv2", $"{prefix}.bn2", stride, 1)]);
                    y = ConvNorm(graph, y, weights, $"{prefix}.conv3", $"{prefix}.bn3", 1, 0);
                }
                else
                {
                    y = graph.Node("Relu", "relu", [ConvNorm(graph, x, weights, $"{prefix}.conv1", $"{prefix}.bn1", stride, 1)]);
                    y = ConvNorm(graph, y, weights, $"{prefix}.conv2", $"{prefix}.bn2", 1, 1);
                }
                var identity = weights.Has($"{prefix}.downsample.0.weight")
                    ? ConvNorm(graph, x, weights, $"{prefix}.downsample.0", $"{prefix}.downsample.1", stride, 0)
                    : x;
                x = graph.Node("Relu", "relu", [graph.Node("Add", "residual", [y, identity])]);
            }
        }
        if (body.OutputChannels != weights.LastConvOutputChannels)
            throw new InvalidOperationException($"The exported body ends with {weights.LastConvOutputChannels} channels, the model's body with {body.OutputChannels}.");
        return x;
    }

    /// <summary>A bias-free conv followed by an eval-mode BatchNorm, as one Conv: W·s and β − μ·s, s = γ/√(σ² + ε).</summary>
    private static string ConvNorm(OnnxGraphBuilder graph, string x, NetworkWeights weights, string conv, string norm, int stride, int padding)
    {
        var (w, shape) = weights.TakeWithShape($"{conv}.weight");
        var (s, t) = weights.TakeNorm(norm);
        long outChannels = shape[0], perOutput = w.Length / outChannels;
        var folded = new float[w.Length];
        for (long o = 0; o < outChannels; o++)
            for (long i = 0; i < perOutput; i++)
                folded[o * perOutput + i] = (float)(w[o * perOutput + i] * s[o]);
        var bias = t.Select(v => (float)v).ToArray();
        weights.LastConvOutputChannels = outChannels;
        return graph.Node("Conv", conv.Replace("body.", "", StringComparison.Ordinal), [x, graph.Weight($"{conv}.weight", folded, shape), graph.Weight($"{conv}.bias", bias, outChannels)],
            Ints("kernel_shape", shape[2], shape[3]), Ints("strides", stride, stride), Ints("pads", padding, padding, padding, padding));
    }

    /// <summary>
    /// fastai's head in eval mode: [max, avg] global pools, flatten, then BatchNorm1d → Linear twice (each
    /// BatchNorm folded into the Linear after it: W·diag(s) and W·t as the bias), with ReLU between. Returns the pooled
    /// features [N, 2·channels] (what the outlier score measures) and the logits.
    /// </summary>
    private static (string Pooled, string Logits) Head(OnnxGraphBuilder graph, string x, NetworkWeights weights)
    {
        var max = graph.Node("GlobalMaxPool", "maxpool", [x]);
        var avg = graph.Node("GlobalAveragePool", "avgpool", [x]);
        x = graph.Node("Concat", "concatpool", [max, avg], Int("axis", 1));
        var pooled = graph.Node("Flatten", "flatten", [x], Int("axis", 1));
        x = NormLinear(graph, pooled, weights, "head.2", "head.4");
        x = graph.Node("Relu", "relu", [x]);
        return (pooled, NormLinear(graph, x, weights, "head.6", "head.8"));
    }

    /// <summary>
    /// The classifier's nearest-neighbour OutlierScore (ScoreCalibration.OutlierScores): the pooled features scaled to unit
    /// length (x / max(‖x‖, 1e-12), as torch's normalize), their cosines with the stored unit-length training rows, the
    /// k-th largest, and the distance √max(2 − 2·cos, 0) it means. The last node is the score, [N, 1].
    /// </summary>
    private static void NearestNeighbourDistance(OnnxGraphBuilder graph, string pooled, ScoreCalibration calibration)
    {
        int rows = calibration.Rows, features = calibration.Features, k = Math.Min(ScoreCalibration.Neighbours, rows);
        var stored = calibration.FeatureRows!;
        var transposed = new float[stored.Length]; // [features, rows]: MatMul's right-hand side
        for (int r = 0; r < rows; r++)
            for (int f = 0; f < features; f++) transposed[f * rows + r] = stored[r * features + f];
        var norm = graph.Node("ReduceL2", "pooled_norm", [pooled], Ints("axes", 1), Int("keepdims", 1));
        norm = graph.Node("Max", "pooled_norm", [norm, graph.Weight("outlier.eps", [1e-12f], 1)]);
        var unit = graph.Node("Div", "pooled_unit", [pooled, norm]);
        var cosines = graph.Node("MatMul", "cosines", [unit, graph.Weight("outlier.features", transposed, features, rows)]);
        var nearest = graph.Nodes("TopK", "nearest", [cosines, graph.Int64Weight("outlier.k", [k], 1)], 2, Int("axis", 1), Int("largest", 1), Int("sorted", 1))[0];
        var kth = graph.Node("Gather", "kth", [nearest, graph.Int64Weight("outlier.kth", [k - 1], 1)], Int("axis", 1));
        var squared = graph.Node("Add", "squared", [graph.Node("Mul", "scaled", [kth, graph.Weight("outlier.minus_two", [-2f], 1)]), graph.Weight("outlier.two", [2f], 1)]);
        graph.Node("Sqrt", "distance", [graph.Node("Relu", "clamped", [squared])]);
    }

    private static string NormLinear(OnnxGraphBuilder graph, string x, NetworkWeights weights, string norm, string linear)
    {
        var (s, t) = weights.TakeNorm(norm);
        var (w, shape) = weights.TakeWithShape($"{linear}.weight");
        long outputs = shape[0], inputs = shape[1];
        if (inputs != s.Length) throw new InvalidOperationException($"{linear} takes {inputs} features but {norm} has {s.Length}.");
        var folded = new float[w.Length];
        var bias = new float[outputs];
        for (long o = 0; o < outputs; o++)
        {
            double sum = 0;
            for (long i = 0; i < inputs; i++)
            {
                folded[o * inputs + i] = (float)(w[o * inputs + i] * s[i]);
                sum += w[o * inputs + i] * t[i];
            }
            bias[o] = (float)sum;
        }
        return graph.Node("Gemm", linear.Replace("head.", "linear", StringComparison.Ordinal),
            [x, graph.Weight($"{linear}.weight", folded, shape), graph.Weight($"{linear}.bias", bias, outputs)], Int("transB", 1));
    }

    /// <summary>
    /// The model's state dict as fp32 CPU arrays, each taken at most once; after the export every weight must have
    /// been taken, so a model with a part the exporter does not know fails instead of being exported without it.
    /// </summary>
    private sealed class NetworkWeights
    {
        private readonly Dictionary<string, (double[] Values, long[] Shape)> _entries = new(StringComparer.Ordinal);
        private readonly Dictionary<string, double> _eps = new(StringComparer.Ordinal);

        internal NetworkWeights(ImageClassifier model)
        {
            foreach (var (name, tensor) in model.state_dict())
            {
                if (name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) continue;
                using var cpu = tensor.detach().cpu().to(torch.ScalarType.Float64);
                _entries[name] = (cpu.data<double>().ToArray(), cpu.shape);
            }
            foreach (var (name, module) in model.named_modules())
                if (module is TorchSharp.Modules.BatchNorm norm) _eps[name] = norm.eps;
        }

        internal long LastConvOutputChannels { get; set; }

        internal bool Has(string name) => _entries.ContainsKey(name);

        internal double[] Take(string name) => TakeWithShape(name).Values;

        internal (double[] Values, long[] Shape) TakeWithShape(string name)
        {
            if (!_entries.Remove(name, out var entry))
                throw new InvalidOperationException($"The model has no weight '{name}' (or the exporter read it twice).");
            return entry;
        }

        /// <summary>Scale s = γ/√(σ² + ε) and shift t = β − μ·s of an eval-mode BatchNorm.</summary>
        internal (double[] Scale, double[] Shift) TakeNorm(string prefix)
        {
            var gamma = Take($"{prefix}.weight");
            var beta = Take($"{prefix}.bias");
            var mean = Take($"{prefix}.running_mean");
            var variance = Take($"{prefix}.running_var");
            var eps = _eps.TryGetValue(prefix, out var e) ? e : throw new InvalidOperationException($"'{prefix}' is not a BatchNorm module.");
            var scale = new double[gamma.Length];
            var shift = new double[gamma.Length];
            for (var c = 0; c < gamma.Length; c++)
            {
                scale[c] = gamma[c] / Math.Sqrt(variance[c] + eps);
                shift[c] = beta[c] - mean[c] * scale[c];
            }
            return (scale, shift);
        }

        internal void EnsureAllTaken()
        {
            if (_entries.Count > 0)
                throw new InvalidOperationException($"The exporter does not know {_entries.Count} weight(s) of the model, e.g. '{_entries.Keys.First()}'.");
        }
    }
}
