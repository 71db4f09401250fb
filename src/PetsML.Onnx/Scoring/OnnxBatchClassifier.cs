using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PetsML.Onnx.Export;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Onnx.Scoring;

/// <summary>
/// An ONNX file written by <see cref="OnnxExporter"/>, run by ONNX Runtime: the class names, presize and layout
/// come from its metadata_props; the centre crop and resize to the trained size run here (PetsML's validation
/// resample, rounded to uint8, as a caller of the file would), the normalisation and the network in the file.
/// </summary>
internal sealed class OnnxBatchClassifier : IImageBatchClassifier
{
    private readonly InferenceSession _session;
    private readonly BatchAugmenter _resizer;
    private readonly string _input;
    private readonly string _output;
    private readonly string? _outlierScore;
    private readonly bool _nhwc;

    /// <summary>Opens <paramref name="onnxPath"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX model exported by PetsML (names the file and what is missing).</exception>
    public OnnxBatchClassifier(string onnxPath, SessionOptions? sessionOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        var name = Path.GetFileName(onnxPath);
        try { _session = sessionOptions is null ? new InferenceSession(onnxPath) : new InferenceSession(onnxPath, sessionOptions); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"{name}: ONNX Runtime cannot open it ({e.Message.Split('\n')[0]}).", e); }
        try
        {
            var metadata = _session.ModelMetadata.CustomMetadataMap;
            string Get(string key) => metadata.TryGetValue(key, out var value) ? value
                : throw new InvalidDataException($"{name}: metadata '{key}' is missing; export the model with 'petsml export'.");
            int Int(string key) => int.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v
                : throw new InvalidDataException($"{name}: metadata '{key}' is not a positive integer.");
            ClassNames = JsonSerializer.Deserialize<string[]>(Get("petsml.classes")) is { Length: >= 2 } classes ? classes
                : throw new InvalidDataException($"{name}: metadata 'petsml.classes' is not a list of at least 2 class names.");
            _input = Get("petsml.input");
            _output = Get("petsml.output");
            // Files exported before the OutlierScore output have neither the output nor the threshold.
            _outlierScore = metadata.GetValueOrDefault("petsml.outlier_score");
            if (metadata.TryGetValue("petsml.unknown_threshold", out var threshold))
                UnknownThreshold = float.TryParse(threshold, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && float.IsFinite(t) ? t
                    : throw new InvalidDataException($"{name}: metadata 'petsml.unknown_threshold' is not a finite number.");
            _nhwc = Get("petsml.input_layout") switch
            {
                "NCHW" => false,
                "NHWC" => true,
                var other => throw new InvalidDataException($"{name}: metadata 'petsml.input_layout' is '{other}', expected NCHW or NHWC."),
            };
            var method = Enum.TryParse<PresizeMethod>(Get("petsml.presize_method"), ignoreCase: true, out var m) ? m
                : throw new InvalidDataException($"{name}: metadata 'petsml.presize_method' is not crop, squish or pad.");
            var padMode = Enum.TryParse<PetsML.PadMode>(Get("petsml.presize_pad_mode"), ignoreCase: true, out var p) ? p : PetsML.PadMode.Reflection;
            var mean = JsonSerializer.Deserialize<float[]>(Get("petsml.normalization_mean"))!;
            var std = JsonSerializer.Deserialize<float[]>(Get("petsml.normalization_std"))!;
            Preprocessing = new OnnxPreprocessing(
                new PresizeOptions { Width = Int("petsml.presize_width"), Height = Int("petsml.presize_height"), Method = method, PadMode = padMode },
                Int("petsml.image_size"), new NormalizationStats(mean, std));
            if (!_session.InputMetadata.ContainsKey(_input))
                throw new InvalidDataException($"{name}: the graph has no input '{_input}'.");
            foreach (var output in new[] { _output, _outlierScore }.OfType<string>())
                if (!_session.OutputMetadata.ContainsKey(output))
                    throw new InvalidDataException($"{name}: the graph has no output '{output}'.");
            // The validation resample without normalisation: values in [0, 1], scaled and rounded to uint8 below.
            _resizer = new BatchAugmenter(new AugmentOptions { Size = Preprocessing.ImageSize, Normalization = new NormalizationStats([0f, 0f, 0f], [1f, 1f, 1f]) });
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            _session.Dispose();
            throw new InvalidDataException($"{name}: PetsML metadata cannot be read ({e.Message}).", e);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public IReadOnlyList<string> ClassNames { get; }

    public OnnxPreprocessing Preprocessing { get; }

    public string Engine => "onnxruntime";

    public float? UnknownThreshold { get; }

    /// <summary>The uint8 input the file takes for <paramref name="presized"/>: [N, 3, S, S] or [N, S, S, 3].</summary>
    public torch.Tensor ToModelInput(torch.Tensor presized)
    {
        using var scope = torch.NewDisposeScope();
        var resized = _resizer.Validation(presized).mul_(255).round_().clamp_(0, 255).to(torch.uint8);
        if (_nhwc) resized = resized.permute(0, 2, 3, 1);
        return resized.contiguous().MoveToOuterDisposeScope();
    }

    public ImageBatchScores Predict(torch.Tensor presized)
    {
        byte[] pixels;
        int[] dims;
        using (var input = ToModelInput(presized))
        {
            pixels = input.data<byte>().ToArray();
            dims = input.shape.Select(d => (int)d).ToArray();
        }
        var outputs = _outlierScore is null ? [_output] : new[] { _output, _outlierScore };
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<byte>(pixels, dims))], outputs);
        int n = dims[0], k = ClassNames.Count;
        var flat = results.Single(r => r.Name == _output).AsTensor<float>().ToArray();
        var probabilities = Enumerable.Range(0, n).Select(i => flat.AsSpan(i * k, k).ToArray()).ToArray();
        var outliers = _outlierScore is null ? null : results.Single(r => r.Name == _outlierScore).AsTensor<float>().ToArray();
        return new ImageBatchScores(probabilities, outliers);
    }

    public void Dispose()
    {
        _resizer.Dispose();
        _session.Dispose();
    }
}
