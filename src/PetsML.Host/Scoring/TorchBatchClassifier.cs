using Microsoft.ML;
using PetsML.Onnx.Export;
using PetsML.Onnx.Scoring;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using TorchSharp;

namespace PetsML.Host.Scoring;

/// <summary>
/// A fitted PetsML pipeline as an <see cref="IImageBatchClassifier"/>: its augmentation's validation path (centre
/// crop, resize, normalisation) on the whole batch, then the classifier in its
/// <see cref="ImageClassifierTransformer.InferencePrecision"/> (fp32 or bf16).
/// </summary>
internal sealed class TorchBatchClassifier : IImageBatchClassifier
{
    private readonly BatchAugmenter _augmenter;
    private readonly bool _ownsAugmenter;

    /// <summary>Scores with <paramref name="classifier"/>, preprocessing as <paramref name="preprocessing"/> says.</summary>
    public TorchBatchClassifier(ImageClassifierTransformer classifier, OnnxPreprocessing preprocessing)
        : this(classifier, preprocessing, new BatchAugmenter(new AugmentOptions { Size = preprocessing.ImageSize, Normalization = preprocessing.Normalization }), ownsAugmenter: true)
    {
    }

    private TorchBatchClassifier(ImageClassifierTransformer classifier, OnnxPreprocessing preprocessing, BatchAugmenter augmenter, bool ownsAugmenter)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(preprocessing);
        Classifier = classifier;
        Preprocessing = preprocessing;
        _augmenter = augmenter;
        _ownsAugmenter = ownsAugmenter;
    }

    /// <summary>The classifier of a fitted pipeline (a loaded .zip), with the pipeline's own presize, size and statistics.</summary>
    public static TorchBatchClassifier FromPipeline(ITransformer model)
    {
        var (classifier, preprocessing) = OnnxExporter.FindClassifier(model);
        return new TorchBatchClassifier(classifier, preprocessing);
    }

    public ImageClassifierTransformer Classifier { get; }

    public IReadOnlyList<string> ClassNames => Classifier.ClassNames;

    public OnnxPreprocessing Preprocessing { get; }

    public string Engine => Classifier.ResolvedInferencePrecision == TrainingPrecision.Bf16Mixed ? "torchsharp bf16" : "torchsharp fp32";

    public float? UnknownThreshold => Classifier.UnknownThreshold;

    public ImageBatchScores Predict(torch.Tensor presized)
    {
        using var scope = torch.NewDisposeScope();
        var outputs = Classifier.Predict(_augmenter.Validation(presized));
        return new ImageBatchScores(outputs.Probabilities, Classifier.UnknownThreshold is null ? null : outputs.OutlierScores);
    }

    /// <summary>Frees the augmenter's buffer; the classifier belongs to the caller.</summary>
    public void Dispose()
    {
        if (_ownsAugmenter) _augmenter.Dispose();
    }
}
