using PetsML.Trainers.LrFinding;
namespace PetsML;

/// <summary>
/// What <see cref="Learner.LrFind"/> found: the recorded curve (every point, untrimmed) and fastai's four
/// suggestions computed on the trimmed curve (see <see cref="LrSuggestions.Trim"/>).
/// </summary>
public sealed record LrFindResult(double[] LearningRates, double[] Losses, double Valley, double Minimum, double Steep, double Slide)
{
    /// <summary>Computes the suggestions from a recorded curve; <paramref name="numIt"/> is the finder's num_it (it sets the trimming).</summary>
    public static LrFindResult FromCurve(IReadOnlyList<double> learningRates, IReadOnlyList<double> losses, int numIt)
    {
        var (lrs, ys) = LrSuggestions.Trim(learningRates, losses, numIt);
        return new LrFindResult(learningRates.ToArray(), losses.ToArray(),
            LrSuggestions.Valley(lrs, ys), LrSuggestions.Minimum(lrs, ys), LrSuggestions.Steep(lrs, ys), LrSuggestions.Slide(lrs, ys));
    }
}
