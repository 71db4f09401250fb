using PetsML.Transforms.Batching;
using PetsML.Transforms.Interop.MlNet;
using TorchSharp;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// Fits a <see cref="ScoreCalibration"/> at the end of Fit: the pooled features of (a seeded sample of) the training
/// rows become the outlier score's neighbours; the validation rows' logits give the temperature and their scores the
/// threshold. Both passes take the deterministic validation path (no augmentation).
/// </summary>
internal static class ScoreCalibrationFit
{
    /// <summary>
    /// Runs the classifier over both sets and fits; <paramref name="training"/> should hold at most
    /// <see cref="ModelFileLimits.MaxOutlierFeatureRows"/> rows (<see cref="SampleTraining"/>). With no validation rows the
    /// temperature stays 1 and the threshold comes from the training rows.
    /// </summary>
    public static ScoreCalibration Fit(ImageClassifierTransformer classifier, ImageBatchSource training, ImageBatchSource? validation, double acceptShare, Action<string> log)
    {
        int k = classifier.ClassNames.Count;
        var (trainLabels, trainLogits, trainPooled) = Collect(classifier, training);
        int d = trainPooled.Length / trainLabels.Length;
        var neighbours = new ScoreCalibration(1, (float)acceptShare, 0, trainPooled, d);
        float temperature = 1;
        float[] thresholdScores;
        if (validation is { ItemCount: > 0 })
        {
            var (validLabels, validLogits, validPooled) = Collect(classifier, validation);
            temperature = (float)Temperature(validLogits, validLabels, k);
            thresholdScores = Scores(neighbours, validLogits, validPooled, validLabels.Length);
            double before = NegativeLogLikelihood(validLogits, validLabels, k, 1), after = NegativeLogLikelihood(validLogits, validLabels, k, temperature);
            log($"Calibration: temperature {temperature:0.###} fitted on {validLabels.Length} validation rows (their NLL {before:0.####} → {after:0.####}).");
        }
        else
        {
            // Each training row is its own nearest neighbour: the score skips none, so this threshold is stricter still.
            thresholdScores = Scores(neighbours, trainLogits, trainPooled, trainLabels.Length);
            log("Calibration: no validation rows, so the temperature stays 1 and the unknown threshold comes from the training rows (too strict for new photos).");
        }
        float threshold = Threshold(thresholdScores, acceptShare);
        log($"Unknown threshold: outlier score {threshold:0.###} (distance to the {Math.Min(ScoreCalibration.Neighbours, neighbours.Rows)}th nearest of {neighbours.Rows} training photos' features) accepts {acceptShare:P0} of those rows.");
        return new ScoreCalibration(temperature, (float)acceptShare, threshold, trainPooled, d);
    }

    /// <summary>At most <see cref="ModelFileLimits.MaxOutlierFeatureRows"/> of <paramref name="items"/>, drawn with <paramref name="seed"/>, in their order.</summary>
    internal static IReadOnlyList<T> SampleTraining<T>(IReadOnlyList<T> items, int seed)
    {
        if (items.Count <= ModelFileLimits.MaxOutlierFeatureRows) return items;
        var random = new Random(seed);
        var chosen = Enumerable.Range(0, items.Count).OrderBy(_ => random.Next()).Take(ModelFileLimits.MaxOutlierFeatureRows).Order();
        return chosen.Select(i => items[i]).ToArray();
    }

    static float[] Scores(ScoreCalibration calibration, float[] logits, float[] pooled, int rows)
    {
        using var l = torch.tensor(logits, [rows, logits.Length / rows]);
        using var p = torch.tensor(pooled, [rows, pooled.Length / rows]);
        return calibration.OutlierScores(l, p);
    }

    /// <summary>Labels, logits and unit-length pooled features of every row of <paramref name="source"/>, row-major.</summary>
    static (int[] Labels, float[] Logits, float[] Pooled) Collect(ImageClassifierTransformer classifier, ImageBatchSource source)
    {
        var labels = new List<int>();
        var logits = new List<float>();
        var pooled = new List<float>();
        foreach (var batch in source.GetBatches(0))
        {
            using (batch)
            {
                var (l, p, penultimate) = classifier.ForwardWithFeatures(batch.Images);
                using (l)
                using (p)
                using (penultimate)
                using (var unit = torch.nn.functional.normalize(p, p: 2, dim: 1))
                {
                    labels.AddRange(batch.Labels.data<long>().ToArray().Select(v => (int)v));
                    logits.AddRange(l.data<float>().ToArray());
                    pooled.AddRange(unit.data<float>().ToArray());
                }
            }
        }
        return (labels.ToArray(), logits.ToArray(), pooled.ToArray());
    }

    /// <summary>
    /// The temperature minimising the mean negative log-likelihood of <paramref name="logits"/>: golden-section search over
    /// log T in [1/20, 20]; 1 when the minimum is at the low end (for example every row right), 20 at the high end (the
    /// rows are predicted no better than by uniform probabilities, so the softest scores allowed are the honest ones).
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
        // At the low end the rows do not pin T down: with every row right, the NLL only falls as T → 0 and the "fit" would
        // turn every score into 0 or 1. Keep the softmax as it is then. At the high end the NLL falls all the way to the
        // uniform answer: a confidently wrong model (a tiny or failed training) gets the softest scores, not its own.
        if (best - Math.Log(0.05) < 1e-3) return 1;
        return Math.Log(20) - best < 1e-3 ? 20 : Math.Exp(best);
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
