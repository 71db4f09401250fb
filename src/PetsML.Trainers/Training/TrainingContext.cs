using PetsML.Trainers.Optimization;
using static TorchSharp.torch;

namespace PetsML;

/// <summary>Which half of an epoch the loop is in.</summary>
public enum TrainingPhase
{
    Train,
    Valid,
}

/// <summary>
/// Where the training loop is, handed to every <see cref="ILearnerCallback"/> event. One instance lives for
/// one fit; the learner updates it, callbacks read it (and may change the optimizer's hyper-parameters).
/// </summary>
public sealed class TrainingContext
{
    internal TrainingContext(Learner learner, int epochCount, CancellationToken cancellationToken, bool isLrFind = false, int startEpoch = 0)
    {
        Learner = learner;
        EpochCount = epochCount;
        CancellationToken = cancellationToken;
        IsLrFind = isLrFind;
        StartEpoch = startEpoch;
    }

    /// <summary>True during <see cref="Learner.LrFind"/>'s fit: its epochs are not part of training (loggers and checkpoints skip them).</summary>
    public bool IsLrFind { get; }

    /// <summary>
    /// The first epoch this fit runs (fastai's <c>start_epoch</c>): a resumed fit skips epochs 0..StartEpoch−1 but keeps
    /// <see cref="EpochCount"/> and the schedule positions of an uninterrupted fit.
    /// </summary>
    public int StartEpoch { get; }

    /// <summary>True once a callback ended this fit early (<see cref="CancelFitException"/>, e.g. early stopping); read it in AfterFit.</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>The learner running the loop.</summary>
    public Learner Learner { get; }

    /// <summary>The learner's optimizer (set hyper-parameters here).</summary>
    internal FastaiAdam Optimizer => Learner.Optimizer;

    /// <summary>Number of epochs of this fit (fastai's <c>n_epoch</c>).</summary>
    public int EpochCount { get; }

    /// <summary>0-based epoch within this fit.</summary>
    public int Epoch { get; internal set; }

    /// <summary>
    /// The learner's <see cref="Learner.DataEpoch"/> of this epoch: the training data's epoch number, counted over the
    /// learner's life (never restarts with a fit). Seed per-epoch random draws (MixUp, CutMix) from it.
    /// </summary>
    public int DataEpoch { get; internal set; }

    /// <summary>Training batches finished in this fit (fastai's <c>train_iter</c>); incremented before AfterBatch.</summary>
    public int Iteration { get; internal set; }

    /// <summary>
    /// Position in the fit's training, fastai's <c>pct_train</c>: in BeforeBatch of training batch k (0-based over the
    /// whole fit) it is k/(batches per epoch · epochs); the last batch sees 1 − 1/(batches·epochs), never 1.
    /// </summary>
    public double PctTrain { get; internal set; }

    /// <summary>True while training batches run, false during validation.</summary>
    public bool IsTraining { get; internal set; }

    /// <summary>The current phase.</summary>
    public TrainingPhase Phase => IsTraining ? TrainingPhase.Train : TrainingPhase.Valid;

    /// <summary>0-based batch index within the current phase of the epoch.</summary>
    public int BatchIndex { get; internal set; }

    /// <summary>Number of batches in the current phase.</summary>
    public int BatchCount { get; internal set; }

    /// <summary>Items in the current batch.</summary>
    public int BatchSize { get; internal set; }

    /// <summary>The current batch's mean loss; NaN before AfterLoss.</summary>
    public double BatchLoss { get; internal set; } = double.NaN;

    /// <summary>
    /// The current batch's images (fastai's <c>xb</c>), from BeforeBatch to AfterBatch; owned by the loop. A callback
    /// may replace them in BeforeBatch (MixUp, CutMix) with a tensor made inside the batch's dispose scope.
    /// </summary>
    public Tensor? Images { get; set; }

    /// <summary>The current batch's targets [N] (int64, on the model's device), from BeforeBatch to AfterBatch; owned by the loop.</summary>
    public Tensor? Targets { get; internal set; }

    /// <summary>
    /// A loss for this batch only (logits, targets → mean loss), set by a callback in BeforeBatch (MixUp's mixed loss);
    /// null uses the learner's loss. Reset before every batch.
    /// </summary>
    public Func<Tensor, Tensor, Tensor>? LossFunction { get; set; }

    /// <summary>The current batch's logits [N, C] (fp32), from AfterLoss to AfterBatch; owned by the loop, do not dispose or keep.</summary>
    public Tensor? Logits { get; internal set; }

    /// <summary>The current batch's mean loss (what is recorded), from AfterLoss to AfterBatch; owned by the loop.</summary>
    public Tensor? Loss { get; internal set; }

    /// <summary>
    /// The tensor backward runs on (fastai's <c>loss_grad</c>): <see cref="Loss"/> unless a callback replaces it in
    /// AfterLoss (gradient accumulation scales it).
    /// </summary>
    public Tensor? LossGrad { get; set; }

    /// <summary>
    /// Set in BeforeStep to skip this batch's optimizer step and zero_grad, so gradients keep accumulating (fastai's
    /// CancelStepException). Reset before every batch; the iteration counter and schedule still advance.
    /// </summary>
    public bool SkipStep { get; set; }

    /// <summary>The token the fit was started with; the loop checks it between batches.</summary>
    public CancellationToken CancellationToken { get; }
}
