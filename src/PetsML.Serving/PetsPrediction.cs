namespace PetsML;

/// <summary>One image's answer: the most probable labels and the model that gave them.</summary>
/// <param name="Top">The most probable labels, most probable first.</param>
/// <param name="Probabilities">Every class's probability, in the order of <see cref="PetsPredictor.ClassNames"/>.</param>
/// <param name="ModelVersion">Which load of the model file answered (1 for the first, then one more per swap).</param>
public sealed record PetsPrediction(IReadOnlyList<LabelProbability> Top, float[] Probabilities, int ModelVersion)
{
    /// <summary>The most probable label.</summary>
    public string Label => Top[0].Label;

    /// <summary>Its probability.</summary>
    public float Probability => Top[0].Probability;

    /// <summary>
    /// How far the image is from every class the model knows (the classifier's OutlierScore: higher is further); NaN for
    /// a model trained before PetsML calibrated its scores.
    /// </summary>
    public float OutlierScore { get; init; } = float.NaN;

    /// <summary>
    /// True when <see cref="OutlierScore"/> is above the model's threshold: the image is none of the classes, and
    /// <see cref="Label"/> is only the closest one.
    /// </summary>
    public bool IsUnknown { get; init; }
}

/// <summary>A class name and its probability.</summary>
public readonly record struct LabelProbability(string Label, float Probability);
