using PetsML.Trainers.Losses;
using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;
using static TorchSharp.torch;
using PetsML.Trainers.Tricks;

namespace PetsML;

/// <summary>
/// What MixUp and CutMix share (fastai's <c>MixHandler</c>): on training batches only, mix each item with a partner
/// from the same batch and train on the mixed loss lerp(loss(partner's target), loss(own target), weight), averaged
/// over the batch. Every draw comes from the seed, the learner's data epoch and the batch index, so runs and resumed
/// runs repeat exactly. Validation is untouched.
/// </summary>
public abstract class MixHandler : ILearnerCallback
{
    const int MixStream = 11;

    private protected MixHandler(double alpha, int seed)
    {
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be a positive, finite number.");
        Alpha = alpha;
        Seed = seed;
    }

    /// <summary>The Beta(α, α) parameter of the mixing weights.</summary>
    public double Alpha { get; }

    /// <summary>The seed of the draws.</summary>
    public int Seed { get; }

    /// <summary>The last training batch's draw (null before the first).</summary>
    internal MixDraw? Last { get; private set; }

    public void BeforeBatch(TrainingContext context)
    {
        if (!context.IsTraining || context.Images is null || context.Targets is null) return;
        var random = new Random((int)(SeedSequence.Derive(Seed, MixStream, context.DataEpoch, context.BatchIndex) & int.MaxValue));
        int n = context.BatchSize;
        var partners = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (partners[i], partners[j]) = (partners[j], partners[i]);
        }
        var images = context.Images;
        using var order = tensor(partners.Select(p => (long)p).ToArray(), dtype: ScalarType.Int64);
        var partnerImages = images.index_select(0, order.to(images.device));
        var (mixed, weights) = Mix(images, partnerImages, random);
        context.Images = mixed;
        Last = new MixDraw(weights, partners);

        var loss = context.Learner.Loss;
        var ownTargets = context.Targets;
        var partnerTargets = ownTargets.index_select(0, order.to(ownTargets.device));
        var weight = tensor(weights.Select(w => (float)w).ToArray(), dtype: ScalarType.Float32).to(ownTargets.device);
        context.LossFunction = (logits, targets) => MixedLoss(loss, logits, targets, partnerTargets, weight);
    }

    /// <summary>The mixed images and each item's weight of its own image (the pixel share it keeps).</summary>
    private protected abstract (Tensor Images, double[] Weights) Mix(Tensor images, Tensor partnerImages, Random random);

    /// <summary>mean over items of lerp(loss(partner's target), loss(own target), weight): fastai's MixHandler.lf.</summary>
    internal static Tensor MixedLoss(ClassificationLoss loss, Tensor logits, Tensor targets, Tensor partnerTargets, Tensor weight)
    {
        using var scope = NewDisposeScope();
        var own = loss.Compute(logits, targets, LossReduction.None);
        var partner = loss.Compute(logits, partnerTargets, LossReduction.None);
        return scope.MoveToOuter(own.mul(weight).add(partner.mul(weight.neg().add(1))).mean());
    }
}

/// <summary>
/// fastai's <c>MixUp(alpha=0.4)</c>: each training image becomes λ·image + (1 − λ)·partner with λ = max(b, 1 − b),
/// b ~ Beta(α, α) per item, and the loss is the same mix of the two targets' losses.
/// </summary>
public sealed class MixUp(double alpha = MixUp.DefaultAlpha, int seed = 0) : MixHandler(alpha, seed)
{
    /// <summary>fastai's default α: 0.4.</summary>
    public const double DefaultAlpha = 0.4;

    private protected override (Tensor Images, double[] Weights) Mix(Tensor images, Tensor partnerImages, Random random)
    {
        int n = (int)images.shape[0];
        var weights = new double[n];
        for (int i = 0; i < n; i++)
        {
            double b = BetaSampler.Beta(random, Alpha);
            weights[i] = Math.Max(b, 1 - b);
        }
        var w = tensor(weights.Select(x => (float)x).ToArray(), dtype: ScalarType.Float32).to(images.device).to(images.dtype).view(n, 1, 1, 1);
        return (images.mul(w).add(partnerImages.mul(w.neg().add(1))), weights);
    }
}

/// <summary>
/// fastai's <c>CutMix(alpha=1.0)</c>: one box per batch (side √(1 − λ) of the image's, λ ~ Beta(α, α), centre uniform,
/// clipped at the border) is pasted from each item's partner; the loss mixes the targets by the area each keeps.
/// </summary>
public sealed class CutMix(double alpha = CutMix.DefaultAlpha, int seed = 0) : MixHandler(alpha, seed)
{
    /// <summary>fastai's default α: 1.0.</summary>
    public const double DefaultAlpha = 1.0;

    private protected override (Tensor Images, double[] Weights) Mix(Tensor images, Tensor partnerImages, Random random)
    {
        int n = (int)images.shape[0], height = (int)images.shape[2], width = (int)images.shape[3];
        double lambda = BetaSampler.Beta(random, Alpha);
        double cut = Math.Sqrt(1 - lambda);
        int cutW = (int)Math.Round(width * cut), cutH = (int)Math.Round(height * cut);
        int cx = random.Next(width), cy = random.Next(height);
        int x1 = Math.Clamp(cx - cutW / 2, 0, width), x2 = Math.Clamp(cx + cutW / 2, 0, width);
        int y1 = Math.Clamp(cy - cutH / 2, 0, height), y2 = Math.Clamp(cy + cutH / 2, 0, height);
        var mixed = images.clone();
        if (x2 > x1 && y2 > y1)
        {
            using var box = mixed.narrow(2, y1, y2 - y1).narrow(3, x1, x2 - x1);
            using var source = partnerImages.narrow(2, y1, y2 - y1).narrow(3, x1, x2 - x1);
            box.copy_(source);
        }
        double keep = 1 - (double)(x2 - x1) * (y2 - y1) / (width * height);
        return (mixed, Enumerable.Repeat(keep, n).ToArray());
    }
}
