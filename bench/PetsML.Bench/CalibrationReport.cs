using PetsML.Trainers.FineTuning;

namespace PetsML.Bench;

/// <summary>
/// The ECE (15 bins) of the plain softmax and of the temperature-scaled one on the validation photos (T fitted on them,
/// as Fit does) and held out (T fitted on the even-numbered photos and measured on the odd ones, and the other way
/// round), with the ECE's floor: the mean ECE a perfectly calibrated model with the same confidences would show on this
/// many photos (each photo drawn right with probability equal to its confidence, 200 seeded draws). An ECE at its floor
/// cannot be shown to fall, however good the calibration.
/// </summary>
internal static class CalibrationReport
{
    /// <param name="logits">One row per validation photo (log-probabilities serve as well: softmax does not see a row's constant).</param>
    /// <param name="labels">The 0-based classes.</param>
    /// <param name="temperature">The model's T; null: fitted here on all the rows.</param>
    public static object Measure(IReadOnlyList<float[]> logits, int[] labels, double? temperature = null)
    {
        int k = logits[0].Length, n = logits.Count;
        double Ece(IEnumerable<int> rows, double t) => CalibrationError.Compute(rows.Select(r => CalibrationError.Softmax(logits[r], t)).ToList(), rows.Select(r => labels[r]).ToList()).Ece;
        double Nll(IEnumerable<int> rows, double t) => ScoreCalibrationFit.NegativeLogLikelihood(rows.SelectMany(r => logits[r]).ToArray(), rows.Select(r => labels[r]).ToArray(), k, t);
        double Fit(IEnumerable<int> rows) => ScoreCalibrationFit.Temperature(rows.SelectMany(r => logits[r]).ToArray(), rows.Select(r => labels[r]).ToArray(), k);
        var all = Enumerable.Range(0, n).ToArray();
        var even = all.Where(r => r % 2 == 0).ToArray();
        var odd = all.Where(r => r % 2 == 1).ToArray();
        double t = temperature ?? Fit(all), tEven = Fit(even), tOdd = Fit(odd);
        return new
        {
            temperature = t,
            ece_plain = Ece(all, 1), ece_calibrated = Ece(all, t),
            ece_floor_plain = Floor(all.Select(r => CalibrationError.Softmax(logits[r], 1)).ToList()),
            ece_floor_calibrated = Floor(all.Select(r => CalibrationError.Softmax(logits[r], t)).ToList()),
            nll_plain = Nll(all, 1), nll_calibrated = Nll(all, t),
            held_out_ece_plain = (Ece(odd, 1) * odd.Length + Ece(even, 1) * even.Length) / n,
            held_out_ece_calibrated = (Ece(odd, tEven) * odd.Length + Ece(even, tOdd) * even.Length) / n,
            held_out_temperatures = new[] { tEven, tOdd },
        };
    }

    /// <summary>The mean ECE of a calibrated model with these probabilities: its top class right with probability equal to its confidence.</summary>
    static double Floor(List<float[]> probabilities, int draws = 200)
    {
        var random = new Random(0);
        double sum = 0;
        for (int d = 0; d < draws; d++)
        {
            var labels = probabilities.Select(p =>
            {
                int best = Array.IndexOf(p, p.Max());
                return random.NextDouble() < p[best] ? best : (best + 1) % p.Length;
            }).ToList();
            sum += CalibrationError.Compute(probabilities, labels).Ece;
        }
        return sum / draws;
    }
}
