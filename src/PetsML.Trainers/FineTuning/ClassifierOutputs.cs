namespace PetsML.Trainers.FineTuning;

/// <summary>What one forward pass of the classifier gives for a batch, row by row.</summary>
/// <param name="Probabilities">Calibrated class probabilities (the Score column).</param>
/// <param name="OutlierScores">Distance to the nearest class (the OutlierScore column); NaN for a model without calibration.</param>
/// <param name="Logits">The raw logits, before the temperature (for the bench's other candidate scores).</param>
internal sealed record ClassifierOutputs(float[][] Probabilities, float[] OutlierScores, float[][] Logits);
