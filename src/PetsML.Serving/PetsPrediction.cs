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
}

/// <summary>A class name and its probability.</summary>
public readonly record struct LabelProbability(string Label, float Probability);
