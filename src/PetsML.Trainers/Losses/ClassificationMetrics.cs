using static TorchSharp.torch;

namespace PetsML.Trainers.Losses;

/// <summary>fastai's <c>accuracy</c> and <c>error_rate</c> on raw logits (argmax needs no softmax).</summary>
internal static class ClassificationMetrics
{
    /// <summary>How many rows of <paramref name="logits"/> [N, C] have their argmax equal to the target.</summary>
    public static long CorrectCount(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var predicted = logits.reshape(-1, logits.shape[^1]).argmax(-1);
        return predicted.eq(targets.reshape(-1).to(ScalarType.Int64)).sum().item<long>();
    }

    /// <summary>mean(argmax(logits) == targets).</summary>
    public static double Accuracy(Tensor logits, Tensor targets) =>
        targets.numel() == 0 ? double.NaN : (double)CorrectCount(logits, targets) / targets.numel();

    /// <summary>1 − accuracy.</summary>
    public static double ErrorRate(Tensor logits, Tensor targets) => 1 - Accuracy(logits, targets);
}
