using static TorchSharp.torch;

namespace PetsML.Trainers.Losses;

/// <summary>How per-item losses are reduced.</summary>
internal enum LossReduction
{
    /// <summary>Mean over the batch (what training back-propagates).</summary>
    Mean,
    /// <summary>One loss per item (what <c>GetPreds</c> and interpretation use).</summary>
    None,
}

/// <summary>
/// A classification loss on raw logits [N, C] and class indices [N], with the activation fastai pairs with
/// it (softmax over the class axis) for predictions. Pick one with <see cref="CrossEntropy"/> or
/// <see cref="LabelSmoothing"/>.
/// </summary>
internal abstract class ClassificationLoss
{
    /// <summary>fastai's <c>CrossEntropyLossFlat()</c>, the default loss for single-label classification.</summary>
    public static ClassificationLoss CrossEntropy { get; } = new CrossEntropyLoss();

    /// <summary>fastai's <c>LabelSmoothingCrossEntropy(eps)</c>; eps defaults to 0.1 as in fastai.</summary>
    public static ClassificationLoss LabelSmoothing(double eps = LabelSmoothingCrossEntropy.DefaultEps) => new LabelSmoothingCrossEntropy(eps);

    /// <summary>A short name for tables and logs.</summary>
    public abstract string Name { get; }

    /// <summary>The loss of <paramref name="logits"/> [N, C] against <paramref name="targets"/> [N] (int64).</summary>
    public abstract Tensor Compute(Tensor logits, Tensor targets, LossReduction reduction = LossReduction.Mean);

    /// <summary>Turns logits into probabilities: softmax over the last axis.</summary>
    public virtual Tensor Activation(Tensor logits) => logits.softmax(-1);

    public override string ToString() => Name;
}
