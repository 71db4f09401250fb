using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>What training recorded: fastai's epoch table, the learning-rate finder's result if it ran, and the per-batch curve.</summary>
/// <param name="Epochs">One row per epoch (train_loss, valid_loss, error_rate, accuracy, time).</param>
/// <param name="LrFind">The learning-rate finder's curve and suggestions, when the base rate was "find".</param>
/// <param name="SkippedUnlabeled">Rows left out because they had no label.</param>
/// <param name="LearningRates">The last group's learning rate at every training batch.</param>
/// <param name="SmoothedLosses">fastai's smoothed training loss at every training batch.</param>
public sealed record TrainingHistory(
    IReadOnlyList<EpochRecord> Epochs,
    LrFindResult? LrFind,
    int SkippedUnlabeled,
    IReadOnlyList<double> LearningRates,
    IReadOnlyList<double> SmoothedLosses)
{
    /// <summary>The files left out because they are not images (<see cref="ImageFineTuningOptions.SkipBadImages"/>); empty otherwise.</summary>
    internal IReadOnlyList<PetsML.Transforms.Imaging.BadImage> SkippedImages { get; init; } = [];

    /// <summary>The epoch table as fastai prints it.</summary>
    public string FormatTable() => Recorder.FormatTable(Epochs);
}
