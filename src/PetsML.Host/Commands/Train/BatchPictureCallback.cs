using Microsoft.ML;
using PetsML.Trainers.Training;

namespace PetsML.Host.Commands.Train;

/// <summary>
/// Draws the first augmented training batch (show_batch) when the trainer's first fit starts: the learner and its
/// batches exist only inside <c>Fit</c>, and the picture is wanted before an epoch of work, not after it.
/// </summary>
internal sealed class BatchPictureCallback(IDataView transformed, IReadOnlyList<string> classNames, string path) : ILearnerCallback
{
    /// <summary>True once the picture is written.</summary>
    public bool Written { get; private set; }

    public void BeforeFit(TrainingContext context)
    {
        if (Written) return;
        Shared.ShowBatch.Save(context.Learner.Train, transformed, classNames, path);
        Written = true;
    }
}
