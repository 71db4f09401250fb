namespace PetsML.Trainers.Tricks;

/// <summary>
/// One batch's MixUp or CutMix draw: item i is mixed with item <see cref="Partners"/>[i], keeping weight
/// <see cref="Weights"/>[i] of its own target (fastai's <c>lam</c>) and 1 − weight of the partner's.
/// </summary>
/// <param name="Weights">Per item, the weight of the item's own image and target, in [0, 1].</param>
/// <param name="Partners">Per item, the index of the item it is mixed with (a permutation of the batch).</param>
internal sealed record MixDraw(IReadOnlyList<double> Weights, IReadOnlyList<int> Partners)
{
    /// <summary>The soft targets the mixed loss trains towards: weight·onehot(target) + (1 − weight)·onehot(partner's target), [N][classes].</summary>
    public double[][] SoftTargets(IReadOnlyList<long> targets, int classes)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var soft = new double[targets.Count][];
        for (int i = 0; i < soft.Length; i++)
        {
            soft[i] = new double[classes];
            soft[i][targets[i]] += Weights[i];
            soft[i][targets[Partners[i]]] += 1 - Weights[i];
        }
        return soft;
    }
}
