using static TorchSharp.torch;

namespace PetsML.Trainers.Losses;

/// <summary>
/// fastai's <c>LabelSmoothingCrossEntropy</c>: with log-probabilities lp over C classes,
/// loss_i = (eps/C)·(−Σ_k lp[i,k]) + (1 − eps)·(−lp[i, target_i]); the mean reduction averages over items.
/// </summary>
internal sealed class LabelSmoothingCrossEntropy : ClassificationLoss
{
    /// <summary>fastai's default smoothing, 0.1.</summary>
    public const double DefaultEps = 0.1;

    /// <param name="eps">Probability mass spread evenly over all classes; in [0, 1). Default 0.1.</param>
    public LabelSmoothingCrossEntropy(double eps = DefaultEps)
    {
        if (!(eps >= 0 && eps < 1))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "Label smoothing eps must lie in [0, 1).");
        Eps = eps;
    }

    /// <summary>The smoothing amount.</summary>
    public double Eps { get; }

    public override string Name => $"LabelSmoothingCrossEntropy(eps={Eps})";

    public override Tensor Compute(Tensor logits, Tensor targets, LossReduction reduction = LossReduction.Mean)
    {
        using var scope = NewDisposeScope();
        var flatLogits = logits.reshape(-1, logits.shape[^1]);
        var flatTargets = targets.reshape(-1).to(ScalarType.Int64);
        long classes = flatLogits.shape[1];
        var logProbs = flatLogits.log_softmax(-1);
        var smooth = logProbs.sum(-1).neg();
        var nll = nn.functional.nll_loss(logProbs, flatTargets, reduction: nn.Reduction.None);
        var perItem = smooth.mul(Eps / classes).add(nll.mul(1 - Eps));
        var loss = reduction == LossReduction.Mean ? perItem.mean() : perItem;
        return scope.MoveToOuter(loss);
    }
}
