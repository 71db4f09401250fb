using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>GradientAccumulation(n_acc=32)</c>: the optimizer steps once every <see cref="Items"/> training items
/// (counted over batches), on the gradient of their mean loss: each batch's loss gradient is scaled by
/// batch size / <see cref="Items"/> and the steps in between are skipped, so n batches of b items train like one batch
/// of n·b (BatchNorm statistics aside). The recorded loss stays the batch's own.
/// </summary>
public sealed class GradientAccumulation : ILearnerCallback
{
    int _count;

    public GradientAccumulation(int items = 32)
    {
        if (items < 1) throw new ArgumentOutOfRangeException(nameof(items), items, "items must be at least 1.");
        Items = items;
    }

    /// <summary>Training items per optimizer step (fastai's <c>n_acc</c>).</summary>
    public int Items { get; }

    public void BeforeFit(TrainingContext context) => _count = 0;

    public void AfterLoss(TrainingContext context)
    {
        if (!context.IsTraining || context.LossGrad is null) return;
        context.LossGrad = context.LossGrad.mul((double)context.BatchSize / Items);
    }

    public void BeforeStep(TrainingContext context)
    {
        _count += context.BatchSize;
        if (_count < Items) context.SkipStep = true;
        else _count = 0;
    }
}
