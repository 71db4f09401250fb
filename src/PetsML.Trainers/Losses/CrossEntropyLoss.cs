using static TorchSharp.torch;

namespace PetsML.Trainers.Losses;

/// <summary>
/// Cross-entropy on logits (fastai's <c>CrossEntropyLossFlat</c>: PyTorch's <c>CrossEntropyLoss</c> with no
/// class weights, class axis last, targets as int64).
/// </summary>
internal sealed class CrossEntropyLoss : ClassificationLoss
{
    public override string Name => "CrossEntropyLossFlat";

    public override Tensor Compute(Tensor logits, Tensor targets, LossReduction reduction = LossReduction.Mean)
    {
        using var scope = NewDisposeScope();
        var flatLogits = logits.reshape(-1, logits.shape[^1]);
        var flatTargets = targets.reshape(-1).to(ScalarType.Int64);
        var loss = nn.functional.cross_entropy(flatLogits, flatTargets,
            reduction: reduction == LossReduction.Mean ? nn.Reduction.Mean : nn.Reduction.None);
        return scope.MoveToOuter(loss);
    }
}
