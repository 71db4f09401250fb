using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// What Fit learns after training so that the classifier's scores mean what they say (docs/calibration.md): the
/// temperature T that divides the logits before the softmax (fitted on the validation rows), and the threshold of the
/// out-of-distribution score that accepts <see cref="AcceptShare"/> of the validation rows. The score is the energy of the
/// raw logits, −logsumexp (Liu et al. 2020): low when one class speaks strongly for the photo, high when none does. It
/// needs no stored statistics, and measured better than the maximum softmax probability and a Mahalanobis distance on
/// photos of other things (bench/README.md, "Calibration and unknown photos").
/// </summary>
internal sealed class ScoreCalibration
{
    /// <summary>Limits of a stored temperature: far outside them the logits were not fitted, the file is damaged.</summary>
    internal const float MinTemperature = 1e-3f, MaxTemperature = 1e3f;

    /// <param name="temperature">T, positive; 1 leaves the softmax as it was.</param>
    /// <param name="acceptShare">The share of validation rows the threshold accepts, in (0, 1].</param>
    /// <param name="threshold">Rows whose score is above it are unknown.</param>
    internal ScoreCalibration(float temperature, float acceptShare, float threshold)
    {
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must lie in [1e-3, 1e3].");
        if (!(acceptShare > 0 && acceptShare <= 1)) throw new ArgumentOutOfRangeException(nameof(acceptShare), acceptShare, "The accepted share must lie in (0, 1].");
        if (!float.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be a finite score.");
        Temperature = temperature;
        AcceptShare = acceptShare;
        Threshold = threshold;
    }

    public float Temperature { get; }
    public float AcceptShare { get; }
    public float Threshold { get; }

    /// <summary>The energy −logsumexp of each row of the raw <paramref name="logits"/> [N, classes]: higher is further from every class.</summary>
    public static float[] OutlierScores(torch.Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        return logits.detach().cpu().to(torch.float32).logsumexp(1).neg().data<float>().ToArray();
    }

    /// <summary>Writes the temperature, the share and the threshold.</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(Temperature);
        w.Write(AcceptShare);
        w.Write(Threshold);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    /// <exception cref="InvalidDataException">A value no fit gives; the message says which.</exception>
    public static ScoreCalibration Read(BinaryReader r)
    {
        float temperature = r.ReadSingle(), share = r.ReadSingle(), threshold = r.ReadSingle();
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature)) throw new InvalidDataException($"has a temperature of {temperature} (it lies in [1e-3, 1e3])");
        if (!(share > 0 && share <= 1)) throw new InvalidDataException($"has an accepted share of {share} (it lies in (0, 1])");
        if (!float.IsFinite(threshold)) throw new InvalidDataException($"has an outlier threshold of {threshold}");
        return new ScoreCalibration(temperature, share, threshold);
    }
}
