using PetsML.Transforms.Batching;
using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// Fits a <see cref="ScoreCalibration"/> at the end of Fit: the pooled features of the training rows give the class
/// means and the shared covariance; the validation rows' logits give the temperature and their distances the threshold.
/// Both passes take the deterministic validation path (no augmentation).
/// </summary>
internal static class ScoreCalibrationFit
{
    /// <summary>Runs the classifier over both sets and fits; with no validation rows the temperature stays 1 and the threshold comes from the training rows.</summary>
    public static ScoreCalibration Fit(ImageClassifierTransformer classifier, ImageBatchSource training, ImageBatchSource? validation, double acceptShare, Action<string> log)
    {
        var (trainPooled, trainLabels, _) = Collect(classifier, training);
        int k = classifier.ClassNames.Count, d = trainPooled.GetLength(1);
        var (means, precision) = MeansAndPrecision(trainPooled, trainLabels, k);
        float temperature = 1;
        float[] thresholdScores;
        var provisional = new ScoreCalibration(1, (float)acceptShare, 0, means, precision, k, d);
        if (validation is { ItemCount: > 0 })
        {
            var (validPooled, validLabels, validLogits) = Collect(classifier, validation);
            temperature = (float)Temperature(validLogits, validLabels, k);
            using var pooled = torch.tensor(Flatten(validPooled), [validLabels.Length, d]);
            thresholdScores = provisional.OutlierScores(pooled);
            double before = NegativeLogLikelihood(validLogits, validLabels, k, 1), after = NegativeLogLikelihood(validLogits, validLabels, k, temperature);
            log($"Calibration: temperature {temperature:0.###} fitted on {validLabels.Length} validation rows (their NLL {before:0.####} → {after:0.####}).");
        }
        else
        {
            using var pooled = torch.tensor(Flatten(trainPooled), [trainLabels.Length, d]);
            thresholdScores = provisional.OutlierScores(pooled);
            log("Calibration: no validation rows, so the temperature stays 1 and the unknown threshold comes from the training rows (too strict for new photos).");
        }
        float threshold = Threshold(thresholdScores, acceptShare);
        log($"Unknown threshold: outlier score {threshold:0.###} accepts {acceptShare:P0} of those rows.");
        return new ScoreCalibration(temperature, (float)acceptShare, threshold, means, precision, k, d);
    }

    static (float[,] Pooled, int[] Labels, float[] Logits) Collect(ImageClassifierTransformer classifier, ImageBatchSource source)
    {
        var pooled = new List<float[]>();
        var labels = new List<int>();
        var logits = new List<float>();
        int d = 0;
        foreach (var batch in source.GetBatches(0))
        {
            using (batch)
            {
                var (l, p) = classifier.ForwardRaw(batch.Images);
                using (l)
                using (p)
                {
                    d = (int)p.shape[1];
                    var flat = p.data<float>().ToArray();
                    for (int i = 0; i < batch.Count; i++) pooled.Add(flat.AsSpan(i * d, d).ToArray());
                    labels.AddRange(batch.Labels.data<long>().ToArray().Select(v => (int)v));
                    logits.AddRange(l.data<float>().ToArray());
                }
            }
        }
        var matrix = new float[pooled.Count, d];
        for (int i = 0; i < pooled.Count; i++)
            for (int j = 0; j < d; j++) matrix[i, j] = pooled[i][j];
        return (matrix, labels.ToArray(), logits.ToArray());
    }

    static float[] Flatten(float[,] m)
    {
        var flat = new float[m.Length];
        Buffer.BlockCopy(m, 0, flat, 0, flat.Length * sizeof(float));
        return flat;
    }

    /// <summary>
    /// Class means and the inverse of the shared within-class covariance, shrunk towards a multiple of the identity by
    /// Ledoit and Wolf's rule (fewer rows than features leave the plain covariance singular).
    /// </summary>
    internal static (float[] Means, float[] Precision) MeansAndPrecision(float[,] pooled, int[] labels, int classes)
    {
        using var scope = torch.NewDisposeScope();
        int n = labels.Length, d = pooled.GetLength(1);
        var x = torch.tensor(Flatten(pooled), [n, d]).to(torch.float64);
        var means = torch.full(classes, d, double.NaN, dtype: torch.float64);
        var centred = x.clone();
        for (int c = 0; c < classes; c++)
        {
            var rows = Enumerable.Range(0, n).Where(i => labels[i] == c).Select(i => (long)i).ToArray();
            if (rows.Length == 0) continue;
            var index = torch.tensor(rows);
            var mean = x.index_select(0, index).mean([0]);
            means[c].copy_(mean);
            centred.index_copy_(0, index, x.index_select(0, index) - mean);
        }
        var sample = centred.t().matmul(centred) / n;
        double mu = sample.diagonal().mean().item<double>();
        var identity = torch.eye(d, dtype: torch.float64);
        double delta = (sample - identity * mu).pow(2).sum().item<double>() / d;
        // β̄² = (1/n²) Σ ||x xᵀ − S||² / d, with ||x xᵀ − S||² = ||x||⁴ − 2 xᵀ S x + ||S||².
        var norms = centred.pow(2).sum(1);
        var quadratic = centred.matmul(sample).mul(centred).sum(1);
        double sampleNorm = sample.pow(2).sum().item<double>();
        double beta = (norms.pow(2) - 2 * quadratic + sampleNorm).sum().item<double>() / ((double)n * n * d);
        double shrinkage = delta > 0 ? Math.Clamp(Math.Min(beta, delta) / delta, 1e-3, 1) : 1;
        var shrunk = sample * (1 - shrinkage) + identity * (shrinkage * Math.Max(mu, 1e-12));
        var precision = torch.linalg.inv(shrunk);
        precision = (precision + precision.t()) / 2;
        return (means.to(torch.float32).data<float>().ToArray(), precision.to(torch.float32).data<float>().ToArray());
    }

    /// <summary>
    /// The temperature minimising the mean negative log-likelihood of <paramref name="logits"/>: golden-section search over
    /// log T in [1/20, 20]; 1 when the minimum is at an end of that range (for example every row right).
    /// </summary>
    internal static double Temperature(float[] logits, int[] labels, int classes)
    {
        double lo = Math.Log(0.05), hi = Math.Log(20), g = (Math.Sqrt(5) - 1) / 2;
        double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
        double fa = NegativeLogLikelihood(logits, labels, classes, Math.Exp(a)), fb = NegativeLogLikelihood(logits, labels, classes, Math.Exp(b));
        for (int i = 0; i < 60; i++)
        {
            if (fa <= fb) { hi = b; b = a; fb = fa; a = hi - g * (hi - lo); fa = NegativeLogLikelihood(logits, labels, classes, Math.Exp(a)); }
            else { lo = a; a = b; fa = fb; b = lo + g * (hi - lo); fb = NegativeLogLikelihood(logits, labels, classes, Math.Exp(b)); }
        }
        double best = (lo + hi) / 2;
        // At an end of the range the rows do not pin T down: with every row right, the NLL only falls as T → 0 and the
        // "fit" would turn every score into 0 or 1. Keep the softmax as it is then.
        return best - Math.Log(0.05) < 1e-3 || Math.Log(20) - best < 1e-3 ? 1 : Math.Exp(best);
    }

    /// <summary>Mean −log softmax(logits / T)[label] over the rows.</summary>
    internal static double NegativeLogLikelihood(float[] logits, int[] labels, int classes, double temperature)
    {
        double total = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            double max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v / temperature);
            double sum = 0;
            foreach (var v in row) sum += Math.Exp(v / temperature - max);
            total += max + Math.Log(sum) - row[labels[i]] / temperature;
        }
        return labels.Length == 0 ? double.NaN : total / labels.Length;
    }

    /// <summary>The smallest score that at least <paramref name="share"/> of <paramref name="scores"/> do not exceed.</summary>
    internal static float Threshold(float[] scores, double share)
    {
        if (scores.Length == 0) return float.MaxValue;
        var sorted = scores.Where(float.IsFinite).OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return float.MaxValue;
        int index = Math.Clamp((int)Math.Ceiling(share * scores.Length - 1e-9) - 1, 0, sorted.Length - 1);
        return sorted[index];
    }
}
