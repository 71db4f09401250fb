using System.Globalization;
using PetsML.Host.Interpretation;
using PetsML.Trainers.FineTuning;
using Spectre.Console;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// Expected calibration error (15 bins) of the model's scores on a labelled folder, before (the plain softmax) and after
/// (softmax of the logits divided by the model's temperature), with the reliability diagram as a table: per confidence
/// bin, how many photos, their mean confidence and how many were right.
/// </summary>
internal sealed record CalibrationReport(double Temperature, double EcePlain, double EceCalibrated, ReliabilityBin[] Plain, ReliabilityBin[] Calibrated)
{
    /// <summary>
    /// From calibrated probabilities p = softmax(z / T): log p · T is z up to a constant per row, so the plain softmax
    /// softmax(z) = softmax(T · log p) is recovered without running the network again.
    /// </summary>
    public static CalibrationReport From(ClassificationInterpretation interpretation, float temperature)
    {
        var calibrated = Enumerable.Range(0, interpretation.Count).Select(i => interpretation.ProbabilitiesOf(i).ToArray()).ToList();
        var plain = calibrated.Select(p => CalibrationError.Softmax(p.Select(v => (float)(Math.Log(Math.Max(v, 1e-30f)) * temperature)).ToArray(), 1)).ToList();
        var (ecePlain, binsPlain) = CalibrationError.Compute(plain, interpretation.Targets);
        var (eceCalibrated, binsCalibrated) = CalibrationError.Compute(calibrated, interpretation.Targets);
        return new CalibrationReport(temperature, ecePlain, eceCalibrated, binsPlain, binsCalibrated);
    }

    public void Write(IAnsiConsole console)
    {
        var table = new Table().Title(string.Create(CultureInfo.InvariantCulture,
                $"Calibration: ECE {EcePlain:0.000} with the plain softmax, {EceCalibrated:0.000} at temperature {Temperature:0.###} (15 bins)"))
            .AddColumns("confidence", "photos (plain)", "right (plain)", "photos (calibrated)", "right (calibrated)");
        for (int b = 0; b < Plain.Length; b++)
        {
            if (Plain[b].Count == 0 && Calibrated[b].Count == 0) continue;
            static string Right(ReliabilityBin bin) => bin.Count == 0 ? "" : bin.Accuracy.ToString("0%", CultureInfo.InvariantCulture);
            table.AddRow(string.Create(CultureInfo.InvariantCulture, $"{Plain[b].Low:0.00}-{Plain[b].High:0.00}"),
                Plain[b].Count.ToString(CultureInfo.InvariantCulture), Right(Plain[b]),
                Calibrated[b].Count.ToString(CultureInfo.InvariantCulture), Right(Calibrated[b]));
        }
        console.Write(table);
    }

    /// <summary>The --json form: the two ECEs and the non-empty bins.</summary>
    public object ToJson() => new
    {
        temperature = Temperature, ecePlain = EcePlain, eceCalibrated = EceCalibrated, bins = CalibrationError.DefaultBins,
        reliabilityPlain = Plain.Where(b => b.Count > 0).Select(b => new { low = b.Low, high = b.High, count = b.Count, confidence = b.MeanConfidence, accuracy = b.Accuracy }),
        reliabilityCalibrated = Calibrated.Where(b => b.Count > 0).Select(b => new { low = b.Low, high = b.High, count = b.Count, confidence = b.MeanConfidence, accuracy = b.Accuracy }),
    };
}
