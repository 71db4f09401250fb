using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// What Fit learns after training so that the classifier's scores mean what they say (docs/calibration.md): the
/// temperature T that divides the logits before the softmax (fitted on the validation rows), and the
/// out-of-distribution score's statistics: the class means of the pooled body features of the training rows, the
/// inverse of their shared (Ledoit-Wolf shrunk) covariance, and the score threshold that accepts
/// <see cref="AcceptShare"/> of the validation rows. The score is the Mahalanobis distance to the nearest class mean.
/// </summary>
internal sealed class ScoreCalibration
{
    /// <summary>Limits of a stored temperature: far outside them the logits were not fitted, the file is damaged.</summary>
    internal const float MinTemperature = 1e-3f, MaxTemperature = 1e3f;

    /// <param name="temperature">T, positive; 1 leaves the softmax as it was.</param>
    /// <param name="acceptShare">The share of validation rows the threshold accepts, in (0, 1].</param>
    /// <param name="threshold">Rows whose score is above it are unknown.</param>
    /// <param name="means">Class means [classes, features]; a class with no training row has NaN means and is never the nearest.</param>
    /// <param name="precision">The inverse shared covariance [features, features], symmetric.</param>
    /// <param name="classes">The model's class count.</param>
    /// <param name="features">The pooled body features per image (twice the body's channels).</param>
    internal ScoreCalibration(float temperature, float acceptShare, float threshold, float[] means, float[] precision, int classes, int features)
    {
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must lie in [1e-3, 1e3].");
        if (!(acceptShare > 0 && acceptShare <= 1)) throw new ArgumentOutOfRangeException(nameof(acceptShare), acceptShare, "The accepted share must lie in (0, 1].");
        if (!float.IsFinite(threshold) || threshold < 0) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be a finite distance.");
        if (means.Length != (long)classes * features || precision.Length != (long)features * features) throw new ArgumentException("The class means or the precision matrix do not have the model's sizes.");
        Temperature = temperature;
        AcceptShare = acceptShare;
        Threshold = threshold;
        Means = means;
        Precision = precision;
        Classes = classes;
        Features = features;
    }

    public float Temperature { get; }
    public float AcceptShare { get; }
    public float Threshold { get; }
    public float[] Means { get; }
    public float[] Precision { get; }
    public int Classes { get; }
    public int Features { get; }

    /// <summary>
    /// Mahalanobis distance of each row of <paramref name="pooled"/> [N, features] to its nearest class mean, in float64, as
    /// fᵀPf − 2 (Pμ_c)ᵀf + μ_cᵀPμ_c: N·D² + N·K·D work and no [N, K, D] tensor, so many classes stay cheap.
    /// </summary>
    public float[] OutlierScores(torch.Tensor pooled)
    {
        using var scope = torch.NewDisposeScope();
        var f = pooled.detach().cpu().to(torch.float64);
        var means = torch.tensor(Means, [Classes, Features]).to(torch.float64);
        var precision = torch.tensor(Precision, [Features, Features]).to(torch.float64);
        var pf = f.matmul(precision);                                         // [N, D]
        var pm = means.matmul(precision);                                     // [K, D] (P is symmetric)
        var squared = pf.mul(f).sum(1, keepdim: true)                         // [N, 1]
            - 2 * f.matmul(pm.t())                                            // [N, K]
            + pm.mul(means).sum(1).unsqueeze(0);                              // [1, K]
        squared = torch.nan_to_num(squared, nan: double.PositiveInfinity);   // classes without training rows
        var nearest = squared.min(1).values.clamp_min(0).sqrt();
        return nearest.to(torch.float32).data<float>().ToArray();
    }

    /// <summary>Writes the temperature, the share, the threshold, the sizes, the means and the precision matrix.</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(Temperature);
        w.Write(AcceptShare);
        w.Write(Threshold);
        w.Write(Classes);
        w.Write(Features);
        foreach (var v in Means) w.Write(v);
        foreach (var v in Precision) w.Write(v);
    }

    /// <summary>
    /// Reads what <see cref="Write"/> wrote for a model of <paramref name="classes"/> classes whose pooled features number
    /// <paramref name="features"/>: the sizes stored must be those, so the arrays read are never larger than the model implies.
    /// </summary>
    /// <exception cref="InvalidDataException">A value no fit gives, or sizes that are not the model's; the message says which.</exception>
    public static ScoreCalibration Read(BinaryReader r, int classes, int features)
    {
        float temperature = r.ReadSingle(), share = r.ReadSingle(), threshold = r.ReadSingle();
        int storedClasses = r.ReadInt32(), storedFeatures = r.ReadInt32();
        if (storedClasses != classes || storedFeatures != features)
            throw new InvalidDataException($"has calibration statistics for {storedClasses} classes × {storedFeatures} features, but the model has {classes} × {features}");
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature)) throw new InvalidDataException($"has a temperature of {temperature} (it lies in [1e-3, 1e3])");
        if (!(share > 0 && share <= 1)) throw new InvalidDataException($"has an accepted share of {share} (it lies in (0, 1])");
        if (!float.IsFinite(threshold) || threshold < 0) throw new InvalidDataException($"has an outlier threshold of {threshold}");
        var means = new float[(long)classes * features];
        for (long i = 0; i < means.Length; i++) means[i] = r.ReadSingle();
        var precision = new float[(long)features * features];
        for (long i = 0; i < precision.Length; i++)
            if (!float.IsFinite(precision[i] = r.ReadSingle())) throw new InvalidDataException("has a precision matrix with a value that is not finite");
        for (int c = 0; c < classes; c++)
        {
            var row = means.AsSpan(c * features, features);
            bool allNaN = true, anyNonFinite = false;
            foreach (var v in row) { allNaN &= float.IsNaN(v); anyNonFinite |= !float.IsFinite(v); }
            if (anyNonFinite && !allNaN) throw new InvalidDataException($"has a class mean (class {c}) with a value that is not finite");
        }
        return new ScoreCalibration(temperature, share, threshold, means, precision, classes, features);
    }
}
