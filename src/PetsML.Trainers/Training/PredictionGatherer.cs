using PetsML.Trainers.Losses;
using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// fastai's <c>GatherPredsCallback</c>: collects, batch by batch, the probabilities (the loss's activation), targets and
/// per-item losses as small fp32 CPU tensors, for <see cref="Learner.GetPreds"/>.
/// </summary>
internal sealed class PredictionGatherer(ClassificationLoss loss) : ILearnerCallback, IDisposable
{
    readonly List<Tensor> _probs = [];
    readonly List<Tensor> _targets = [];
    readonly List<Tensor> _losses = [];

    public void AfterLoss(TrainingContext context)
    {
        var logits = context.Logits!;
        var targets = context.Targets!;
        // Detached from the batch's scope: they outlive the batch; Dispose frees them.
        _probs.Add(loss.Activation(logits).to(ScalarType.Float32).cpu().DetachFromDisposeScope());
        _targets.Add(targets.cpu().DetachFromDisposeScope());
        _losses.Add(loss.Compute(logits, targets, LossReduction.None).to(ScalarType.Float32).cpu().DetachFromDisposeScope());
    }

    /// <summary>The gathered predictions in batch order (new tensors the caller owns).</summary>
    public Predictions ToPredictions()
    {
        if (_probs.Count == 0) throw new InvalidOperationException("GetPreds: the batch sequence yielded no batch.");
        using var scope = NewDisposeScope();
        var result = new Predictions(cat(_probs, 0), cat(_targets, 0), cat(_losses, 0));
        scope.MoveToOuter(result.Probabilities, result.Targets, result.Losses);
        return result;
    }

    public void Dispose()
    {
        foreach (var t in _probs.Concat(_targets).Concat(_losses)) t.Dispose();
    }
}
