namespace PetsML.Serving;

/// <summary>The classifier's columns for one served image: Score, OutlierScore and IsUnknown.</summary>
/// <param name="Probabilities">The calibrated class probabilities.</param>
/// <param name="OutlierScore">How far the image is from every class (NaN for a model trained before calibration).</param>
/// <param name="IsUnknown">The score is above the model's threshold: the image is none of the classes.</param>
internal sealed record ServedScore(float[] Probabilities, float OutlierScore, bool IsUnknown);
