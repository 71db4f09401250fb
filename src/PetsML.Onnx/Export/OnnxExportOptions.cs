namespace PetsML.Onnx.Export;

/// <summary>Axis order of the exported model's uint8 image input.</summary>
internal enum OnnxInputLayout
{
    /// <summary>[N, 3, H, W], planar RGB: what ML.NET's <c>ExtractPixels(interleavePixelColors: false)</c> gives.</summary>
    Nchw,

    /// <summary>[N, H, W, 3], interleaved RGB: what most image decoders (and Spark's image rows, after BGR→RGB) give.</summary>
    Nhwc,
}

/// <summary>Settings of <see cref="OnnxExporter"/>; every default is written here.</summary>
internal sealed class OnnxExportOptions
{
    /// <summary>Name of the graph's input (uint8 RGB pixels). Default "image".</summary>
    public string InputName { get; init; } = "image";

    /// <summary>Name of the graph's output (softmax class probabilities, [N, classes]). Default "probabilities".</summary>
    public string OutputName { get; init; } = "probabilities";

    /// <summary>
    /// Name of the out-of-distribution output ([N, 1]: the classifier's OutlierScore, computed in the graph as the classifier
    /// computes it), written when the model has one (models trained before calibration have none). Default "outlier_score".
    /// </summary>
    public string OutlierScoreName { get; init; } = "outlier_score";

    /// <summary>Axis order of the input. Default <see cref="OnnxInputLayout.Nchw"/>.</summary>
    public OnnxInputLayout InputLayout { get; init; } = OnnxInputLayout.Nchw;

    /// <summary>Name written into the graph and used as the Triton model name by the host. Default "petsml".</summary>
    public string GraphName { get; init; } = "petsml";

    /// <summary>Checks the names (ONNX value names must be non-empty and distinct).</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(InputName)) throw new ArgumentException("InputName must not be empty.", nameof(InputName));
        if (string.IsNullOrWhiteSpace(OutputName)) throw new ArgumentException("OutputName must not be empty.", nameof(OutputName));
        if (InputName == OutputName) throw new ArgumentException($"InputName and OutputName must differ (both '{InputName}').", nameof(OutputName));
        if (string.IsNullOrWhiteSpace(OutlierScoreName)) throw new ArgumentException("OutlierScoreName must not be empty.", nameof(OutlierScoreName));
        if (OutlierScoreName == InputName || OutlierScoreName == OutputName)
            throw new ArgumentException($"OutlierScoreName must differ from InputName and OutputName (all three are '{OutlierScoreName}' or two of them).", nameof(OutlierScoreName));
        if (!Enum.IsDefined(InputLayout)) throw new ArgumentOutOfRangeException(nameof(InputLayout), InputLayout, "Unknown input layout.");
        if (string.IsNullOrWhiteSpace(GraphName)) throw new ArgumentException("GraphName must not be empty.", nameof(GraphName));
    }
}
