namespace PetsML.Onnx.Scoring;

/// <summary>What an <see cref="IImageBatchClassifier"/> says of a batch of images.</summary>
/// <param name="Probabilities">Class probabilities per image, in <see cref="IImageBatchClassifier.ClassNames"/> order.</param>
/// <param name="OutlierScores">The out-of-distribution score per image (higher: further from every class); null when the
/// model has none (trained before calibration).</param>
internal sealed record ImageBatchScores(float[][] Probabilities, float[]? OutlierScores);
