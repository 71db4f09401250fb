using PetsML.Onnx.Export;
using TorchSharp;

namespace PetsML.Onnx.Scoring;

/// <summary>
/// A classifier that scores whole batches of presized images: the PetsML model (TorchSharp) or its exported ONNX
/// file (ONNX Runtime). The host's folder scorer decodes and presizes; the classifier does the rest of the
/// validation preprocessing and the network.
/// </summary>
internal interface IImageBatchClassifier : IDisposable
{
    /// <summary>Class names in probability order.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The presize step and trained size the classifier expects.</summary>
    OnnxPreprocessing Preprocessing { get; }

    /// <summary>Which engine runs the network, for progress lines and benchmarks ("torchsharp fp32", "onnxruntime").</summary>
    string Engine { get; }

    /// <summary>
    /// The OutlierScore above which an image is none of the classes (the model's threshold, chosen on its validation
    /// rows); null when the model has no score.
    /// </summary>
    float? UnknownThreshold { get; }

    /// <summary>Class probabilities and outlier scores for presized uint8 images [N, 3, H, W] (H×W = the presize size).</summary>
    ImageBatchScores Predict(torch.Tensor presized);
}
