using System.Globalization;

namespace PetsML.Trainers.Training;

/// <summary>
/// The arguments of one <see cref="Learner.FineTune"/> call: <paramref name="FreezeEpochs"/> frozen epochs, then
/// <paramref name="Epochs"/> unfrozen ones. A checkpoint keeps it so a resumed run follows the same one-cycle schedules.
/// </summary>
/// <param name="Epochs">Unfrozen epochs (fine_tune's <c>epochs</c>).</param>
/// <param name="FreezeEpochs">Frozen epochs first (fine_tune's <c>freeze_epochs</c>).</param>
/// <param name="BaseLearningRate">fine_tune's <c>base_lr</c> (a resolved number: lr_find is not re-run on resume).</param>
/// <param name="LrMult">fine_tune's <c>lr_mult</c>.</param>
/// <param name="PctStart">pct_start of the unfrozen cycle.</param>
/// <param name="Div">div of the unfrozen cycle.</param>
internal sealed record FineTunePlan(int Epochs, int FreezeEpochs, double BaseLearningRate, double LrMult, double PctStart, double Div)
{
    /// <summary>fine_tune with its default pct_start (0.3) and div (5), as <see cref="Learner.FineTune"/> has them.</summary>
    public static FineTunePlan WithDefaults(int epochs, int freezeEpochs, double baseLearningRate, double lrMult = 100)
        => new(epochs, freezeEpochs, baseLearningRate, lrMult, PctStart: 0.3, Div: 5);

    /// <summary>Frozen plus unfrozen epochs.</summary>
    public int TotalEpochs => FreezeEpochs + Epochs;

    /// <summary>Throws when <paramref name="other"/> is a different fine_tune (a checkpoint of it cannot continue this one).</summary>
    /// <exception cref="ArgumentException">Names every argument that differs.</exception>
    public void EnsureSameAs(FineTunePlan other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (this == other) return;
        var diffs = new List<string>();
        void Check<T>(string name, T mine, T theirs) where T : IEquatable<T>
        {
            if (!mine.Equals(theirs)) diffs.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {mine} vs {theirs}"));
        }
        Check("epochs", Epochs, other.Epochs);
        Check("freezeEpochs", FreezeEpochs, other.FreezeEpochs);
        Check("baseLr", BaseLearningRate, other.BaseLearningRate);
        Check("lrMult", LrMult, other.LrMult);
        Check("pctStart", PctStart, other.PctStart);
        Check("div", Div, other.Div);
        throw new ArgumentException($"The checkpoint belongs to a different fine_tune ({string.Join(", ", diffs)}); resume with the checkpoint's own arguments.");
    }
}
