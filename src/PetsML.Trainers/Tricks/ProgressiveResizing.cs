using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;

namespace PetsML.Trainers.Tricks;

/// <summary>
/// Progressive resizing (fastbook chapter 7: train at 128, then switch the data to 224 and go on) inside one fine_tune:
/// the first <see cref="SmallEpochs"/> epochs of fine_tune, frozen epochs first, train and validate at
/// <see cref="SmallSize"/>; the rest at the final size. The switch happens in BeforeEpoch, so an epoch's training and
/// validation batches have one size; lr_find before fine_tune runs at the size of fine_tune's first epoch.
/// </summary>
/// <remarks>
/// The learner trains on <see cref="Train"/> and validates on <see cref="Valid"/>: each is one
/// <see cref="ImageBatchSource"/> seen at two sizes through <see cref="ImageBatchSource.WithAugmenter"/>, so both sizes
/// share the presize (460 stays 460), the seeds and the decoded-image cache. The same weights work at both sizes
/// because the network ends in an adaptive pool. An epoch's place in fine_tune is read from the learner: in a frozen fit
/// (the first group's weights do not train) it is the fit's epoch, in an unfrozen fit FreezeEpochs + the fit's epoch; a
/// resumed fit's epochs keep their place, so a resumed run switches where the uninterrupted one did.
/// </remarks>
internal sealed class ProgressiveResizing : ILearnerCallback, IDisposable
{
    readonly BatchAugmenter _smallAugmenter;
    readonly int _freezeEpochs;
    bool _small;

    /// <param name="augment">The final augmentation (its Size is the final size); the small size's is a copy with <paramref name="smallSize"/>.</param>
    /// <param name="train">The training batches at the final size.</param>
    /// <param name="valid">The validation batches at the final size, or null.</param>
    /// <param name="smallSize">The size of the first epochs, smaller than the final one.</param>
    /// <param name="smallEpochs">fine_tune epochs (frozen ones first) at <paramref name="smallSize"/>.</param>
    /// <param name="freezeEpochs">fine_tune's frozen epochs.</param>
    public ProgressiveResizing(AugmentOptions augment, ImageBatchSource train, ImageBatchSource? valid, int smallSize, int smallEpochs, int freezeEpochs)
    {
        ArgumentNullException.ThrowIfNull(augment);
        ArgumentNullException.ThrowIfNull(train);
        if (smallSize < 1 || smallSize >= augment.Size)
            throw new ArgumentOutOfRangeException(nameof(smallSize), smallSize, $"The progressive resizing start size must be between 1 and the final size ({augment.Size}) exclusive.");
        if (smallEpochs < 1) throw new ArgumentOutOfRangeException(nameof(smallEpochs), smallEpochs, "At least one epoch trains at the small size.");
        SmallSize = smallSize;
        SmallEpochs = smallEpochs;
        _freezeEpochs = freezeEpochs;
        _smallAugmenter = new BatchAugmenter(AugmentOptionsFormat.WithSize(augment, smallSize));
        _small = true;
        Train = new Switch(this, train.WithAugmenter(_smallAugmenter), train);
        Valid = valid is null ? null : new Switch(this, valid.WithAugmenter(_smallAugmenter), valid);
    }

    /// <summary>The size of the first <see cref="SmallEpochs"/> epochs.</summary>
    public int SmallSize { get; }

    /// <summary>fine_tune epochs, frozen ones first, at <see cref="SmallSize"/>.</summary>
    public int SmallEpochs { get; }

    /// <summary>The training batches at the current size: give these to the learner.</summary>
    public IBatchSequence Train { get; }

    /// <summary>The validation batches at the current size, or null.</summary>
    public IBatchSequence? Valid { get; }

    /// <summary>The size the next batches have.</summary>
    public int CurrentSize => ((Switch)Train).Current.ImageSize;

    /// <summary>Before the schedulers and the other tricks, so everything of the epoch sees its size.</summary>
    public int Order => CallbackOrder.Data;

    public void BeforeFit(TrainingContext context) => Choose(context, context.StartEpoch);

    public void BeforeEpoch(TrainingContext context) => Choose(context, context.Epoch);

    void Choose(TrainingContext context, int epochOfFit)
    {
        int epochOfFineTune = IsFrozen(context.Learner) ? epochOfFit : _freezeEpochs + epochOfFit;
        _small = epochOfFineTune < SmallEpochs;
    }

    /// <summary>Frozen: some weight of the first group that is not a norm parameter does not train.</summary>
    static bool IsFrozen(Learner learner)
    {
        var first = learner.ParameterGroups[0];
        return first.Parameters.Any(p => !first.IsNorm(p.Name) && !p.Parameter.requires_grad);
    }

    public void Dispose() => _smallAugmenter.Dispose();

    /// <summary>One of two sequences of the same items, chosen by the callback.</summary>
    sealed class Switch(ProgressiveResizing owner, ImageBatchSource small, ImageBatchSource final) : IBatchSequence
    {
        public ImageBatchSource Current => owner._small ? small : final;
        public int BatchCount => final.BatchCount;
        public int ItemCount => final.ItemCount;
        public IEnumerable<ImageBatch> GetBatches(int epoch, CancellationToken cancellationToken = default) => Current.GetBatches(epoch, cancellationToken);
    }
}
