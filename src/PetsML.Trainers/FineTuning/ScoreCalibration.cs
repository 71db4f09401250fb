using PetsML.Transforms.Interop.MlNet;
using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// What Fit learns after training so that the classifier's scores mean what they say (docs/calibration.md): the
/// temperature T that divides the logits before the softmax (fitted on the validation rows), the out-of-distribution
/// score's statistics, and the score's threshold that accepts <see cref="AcceptShare"/> of the validation rows.
/// The score is the distance from the photo's pooled body features, scaled to unit length, to the
/// <see cref="Neighbours"/>-th nearest of at most <see cref="ModelFileLimits.MaxOutlierFeatureRows"/> training photos'
/// (Sun et al. 2022, "Out-of-distribution detection with deep nearest neighbors"): it measured far better than the
/// logit scores and than class means on photos of other things (bench/README.md, "Calibration and unknown photos").
/// Models written before it (format 0x00010004) have no feature rows and score the energy of the logits, −logsumexp.
/// </summary>
internal sealed class ScoreCalibration
{
    /// <summary>Limits of a stored temperature: far outside them the logits were not fitted, the file is damaged.</summary>
    internal const float MinTemperature = 1e-3f, MaxTemperature = 1e3f;

    /// <summary>k: the score is the distance to the k-th nearest stored training feature (fewer rows: the farthest).</summary>
    internal const int Neighbours = 5;

    /// <param name="temperature">T, positive; 1 leaves the softmax as it was.</param>
    /// <param name="acceptShare">The share of validation rows the threshold accepts, in (0, 1].</param>
    /// <param name="threshold">Rows whose score is above it are unknown.</param>
    /// <param name="featureRows">Unit-length pooled features of training photos [rows, features], row-major; null for the energy score.</param>
    /// <param name="features">The pooled features per photo (twice the body's channels); 0 with no rows.</param>
    internal ScoreCalibration(float temperature, float acceptShare, float threshold, float[]? featureRows = null, int features = 0)
    {
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must lie in [1e-3, 1e3].");
        if (!(acceptShare > 0 && acceptShare <= 1)) throw new ArgumentOutOfRangeException(nameof(acceptShare), acceptShare, "The accepted share must lie in (0, 1].");
        if (!float.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be a finite score.");
        if (featureRows is not null && (features < 1 || featureRows.Length == 0 || featureRows.Length % features != 0 || featureRows.Length / features > ModelFileLimits.MaxOutlierFeatureRows))
            throw new ArgumentException($"The outlier feature rows must be 1 to {ModelFileLimits.MaxOutlierFeatureRows:N0} rows of {features} features.", nameof(featureRows));
        Temperature = temperature;
        AcceptShare = acceptShare;
        Threshold = threshold;
        FeatureRows = featureRows;
        Features = featureRows is null ? 0 : features;
    }

    public float Temperature { get; }
    public float AcceptShare { get; }
    public float Threshold { get; }

    /// <summary>The stored training features (unit length, row-major), or null: the energy score of models before them.</summary>
    public float[]? FeatureRows { get; }

    public int Features { get; }

    public int Rows => FeatureRows is null ? 0 : FeatureRows.Length / Features;

    /// <summary>True when the score needs the pooled body features (not only the logits).</summary>
    public bool UsesFeatures => FeatureRows is not null;

    /// <summary>
    /// The outlier score of each row: with stored features, the distance of <paramref name="pooled"/>'s row [N, features],
    /// scaled to unit length, to its k-th nearest stored row (in [0, 2]); without, the energy of <paramref name="logits"/>.
    /// </summary>
    public float[] OutlierScores(torch.Tensor logits, torch.Tensor? pooled)
    {
        if (FeatureRows is null) return Energies(logits);
        ArgumentNullException.ThrowIfNull(pooled);
        float[] x;
        using (torch.NewDisposeScope()) x = pooled.detach().cpu().to(torch.float32).contiguous().data<float>().ToArray();
        int n = x.Length / Features, k = Math.Min(Neighbours, Rows);
        var scores = new float[n];
        var nearest = new float[k];
        // In managed code: N × rows dot products are a few million multiply-adds, less than making a tensor of the rows per call.
        for (int i = 0; i < n; i++)
        {
            var row = x.AsSpan(i * Features, Features);
            float norm = MathF.Sqrt(Dot(row, row));
            nearest.AsSpan().Fill(float.NegativeInfinity); // the k largest cosines so far, descending
            for (int r = 0; r < Rows; r++)
            {
                float cosine = Dot(row, FeatureRows.AsSpan(r * Features, Features)) / Math.Max(norm, 1e-12f);
                if (cosine <= nearest[k - 1]) continue;
                int at = k - 1;
                while (at > 0 && nearest[at - 1] < cosine) { nearest[at] = nearest[at - 1]; at--; }
                nearest[at] = cosine;
            }
            // |a − b|² = 2 − 2 a·b for unit vectors: the k-th nearest row is the one with the k-th largest cosine.
            scores[i] = MathF.Sqrt(Math.Max(2 - 2 * nearest[k - 1], 0));
        }
        return scores;
    }

    static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = System.Numerics.Vector<float>.Zero;
        int i = 0, width = System.Numerics.Vector<float>.Count;
        for (; i <= a.Length - width; i += width) sum += new System.Numerics.Vector<float>(a[i..]) * new System.Numerics.Vector<float>(b[i..]);
        float total = System.Numerics.Vector.Sum(sum);
        for (; i < a.Length; i++) total += a[i] * b[i];
        return total;
    }

    /// <summary>The energy −logsumexp of each row of the raw <paramref name="logits"/> [N, classes]: higher is further from every class.</summary>
    public static float[] Energies(torch.Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        return logits.detach().cpu().to(torch.float32).logsumexp(1).neg().data<float>().ToArray();
    }

    /// <summary>Writes the temperature, the share, the threshold and (format 0x00010005) the feature rows: none (0 × 0) for the energy score.</summary>
    public void Write(BinaryWriter w, bool withFeatureRows)
    {
        w.Write(Temperature);
        w.Write(AcceptShare);
        w.Write(Threshold);
        if (!withFeatureRows) return;
        w.Write(Rows);
        w.Write(Features);
        if (FeatureRows is not null) foreach (var v in FeatureRows) w.Write(v);
    }

    /// <summary>
    /// Reads what <see cref="Write"/> wrote. With <paramref name="withFeatureRows"/>, the row count is checked against
    /// <see cref="ModelFileLimits.MaxOutlierFeatureRows"/> and the feature count must be <paramref name="features"/> (the
    /// model's), both before the array is allocated, so what is read is never larger than the limit and the model imply.
    /// </summary>
    /// <exception cref="InvalidDataException">A value no fit gives; the message says which.</exception>
    public static ScoreCalibration Read(BinaryReader r, bool withFeatureRows, int features)
    {
        float temperature = r.ReadSingle(), share = r.ReadSingle(), threshold = r.ReadSingle();
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature)) throw new InvalidDataException($"has a temperature of {temperature} (it lies in [1e-3, 1e3])");
        if (!(share > 0 && share <= 1)) throw new InvalidDataException($"has an accepted share of {share} (it lies in (0, 1])");
        if (!float.IsFinite(threshold)) throw new InvalidDataException($"has an outlier threshold of {threshold}");
        if (!withFeatureRows) return new ScoreCalibration(temperature, share, threshold);

        int rows = r.ReadInt32(), storedFeatures = r.ReadInt32();
        if (rows < 0 || rows > ModelFileLimits.MaxOutlierFeatureRows)
            throw new InvalidDataException($"declares {rows:N0} outlier feature rows (at most {ModelFileLimits.MaxOutlierFeatureRows:N0}, ModelFileLimits.MaxOutlierFeatureRows)");
        // No rows: a calibration from a model that scored the energy (format 0x00010004), saved again.
        if (rows == 0 && storedFeatures == 0) return new ScoreCalibration(temperature, share, threshold);
        if (rows == 0 || storedFeatures != features)
            throw new InvalidDataException($"has outlier feature rows of {storedFeatures:N0} features, but the model's pooled features number {features:N0}");
        long bytes = 4L * rows * features;
        if (r.BaseStream.CanSeek && bytes > r.BaseStream.Length - r.BaseStream.Position)
            throw new InvalidDataException($"declares {rows:N0} outlier feature rows but has room for fewer");
        var values = new float[rows * features];
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i] = r.ReadSingle())) throw new InvalidDataException($"has an outlier feature row (row {i / features}) with a value that is not finite");
        for (int row = 0; row < rows; row++)
        {
            double norm = 0;
            foreach (var v in values.AsSpan(row * features, features)) norm += (double)v * v;
            if (Math.Abs(Math.Sqrt(norm) - 1) > 1e-3) throw new InvalidDataException($"has an outlier feature row (row {row}) that is not of unit length");
        }
        if (!(threshold >= 0 && threshold <= 2)) throw new InvalidDataException($"has an outlier threshold of {threshold} (a distance between unit vectors lies in [0, 2])");
        return new ScoreCalibration(temperature, share, threshold, values, features);
    }
}
