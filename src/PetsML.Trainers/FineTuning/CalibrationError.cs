namespace PetsML.Trainers.FineTuning;

/// <summary>One bin of a reliability diagram: the rows whose top probability fell in [Low, High).</summary>
internal readonly record struct ReliabilityBin(double Low, double High, int Count, double MeanConfidence, double Accuracy);

/// <summary>
/// Expected calibration error (Guo et al. 2017): the rows binned by their top probability into equal-width bins, then
/// Σ (bin rows / all rows) · |accuracy − mean confidence| over the bins. 0 is perfectly calibrated.
/// </summary>
internal static class CalibrationError
{
    /// <summary>The bins the issue and the reports use.</summary>
    public const int DefaultBins = 15;

    /// <summary>The ECE of <paramref name="probabilities"/> (one row per image) against the 0-based <paramref name="labels"/>, and its bins.</summary>
    public static (double Ece, ReliabilityBin[] Bins) Compute(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> labels, int bins = DefaultBins)
    {
        if (probabilities.Count != labels.Count) throw new ArgumentException("One label per row of probabilities is needed.", nameof(labels));
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "At least one bin.");
        var count = new int[bins];
        var confidence = new double[bins];
        var correct = new double[bins];
        for (int i = 0; i < labels.Count; i++)
        {
            var p = probabilities[i];
            int best = 0;
            for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
            int bin = Math.Clamp((int)(p[best] * bins), 0, bins - 1);
            count[bin]++;
            confidence[bin] += p[best];
            if (best == labels[i]) correct[bin]++;
        }
        double ece = 0;
        var result = new ReliabilityBin[bins];
        for (int b = 0; b < bins; b++)
        {
            double meanConfidence = count[b] > 0 ? confidence[b] / count[b] : double.NaN;
            double accuracy = count[b] > 0 ? correct[b] / count[b] : double.NaN;
            if (count[b] > 0) ece += (double)count[b] / labels.Count * Math.Abs(accuracy - meanConfidence);
            result[b] = new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, count[b], meanConfidence, accuracy);
        }
        return (labels.Count == 0 ? double.NaN : ece, result);
    }

    /// <summary>softmax(logits / T) per row, in double then rounded to float (what the classifier's Score holds).</summary>
    public static float[] Softmax(ReadOnlySpan<float> logits, double temperature)
    {
        double max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v / temperature);
        var e = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += e[i] = Math.Exp(logits[i] / temperature - max);
        var result = new float[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = (float)(e[i] / sum);
        return result;
    }
}
