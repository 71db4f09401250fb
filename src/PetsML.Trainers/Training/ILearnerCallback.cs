namespace PetsML;

/// <summary>
/// A participant in <see cref="Learner"/>'s training loop (fastai's <c>Callback</c>). Implement only the
/// events you need; the others default to doing nothing. Callbacks run in ascending <see cref="Order"/>
/// (ties keep registration order). Every event receives the learner's one <see cref="TrainingContext"/>;
/// read the loop's position from it, never from shared globals.
/// </summary>
/// <remarks>
/// The loop, with the learner's own work in brackets (see <see cref="Learner.DescribeLoop"/>):
/// <code>
/// BeforeFit
///   per epoch: BeforeEpoch
///     BeforeTrain
///       per batch: BeforeBatch [forward, loss] AfterLoss [backward] BeforeStep [step, zero_grad] AfterBatch
///     AfterTrain
///     BeforeValidate
///       per batch: BeforeBatch [forward, loss] AfterLoss AfterBatch
///     AfterValidate
///   AfterEpoch
/// AfterFit
/// </code>
/// The tricks in PetsML.Trainers.Tricks work through the context: MixUp and CutMix replace the images and the loss in
/// BeforeBatch, gradient accumulation scales the loss gradient in AfterLoss and skips steps in BeforeStep, keeping the
/// best epoch and early stopping read the recorder's row in AfterEpoch.
/// To stop early, throw <see cref="CancelFitException"/> (ends the fit; AfterFit still runs) or
/// <see cref="CancelValidateException"/> (skips the rest of validation; AfterValidate still runs).
/// Batch events run inside the batch's dispose scope: a tensor a callback creates there is disposed when the
/// batch ends unless the callback detaches it (<c>DetachFromDisposeScope()</c>) and disposes it later itself.
/// </remarks>
public interface ILearnerCallback
{
    /// <summary>Position among the callbacks: lower runs first; the named positions are in <see cref="CallbackOrder"/>.</summary>
    int Order => CallbackOrder.Tricks;

    /// <summary>Once at the start of a fit, before any batch. <see cref="TrainingContext.EpochCount"/> is set; iteration and pct_train are 0.</summary>
    void BeforeFit(TrainingContext context) { }

    /// <summary>At the start of each epoch; <see cref="TrainingContext.Epoch"/> is the 0-based epoch.</summary>
    void BeforeEpoch(TrainingContext context) { }

    /// <summary>Before the training batches of an epoch; the model is already in train() mode.</summary>
    void BeforeTrain(TrainingContext context) { }

    /// <summary>
    /// Before each batch, training and validation (check <see cref="TrainingContext.IsTraining"/>). The batch is
    /// not yet forwarded; during training <see cref="TrainingContext.PctTrain"/> is this batch's schedule position
    /// k/(batches·epochs), so schedulers set hyper-parameters here.
    /// </summary>
    void BeforeBatch(TrainingContext context) { }

    /// <summary>
    /// After the forward pass and the loss, before backward. <see cref="TrainingContext.BatchLoss"/>,
    /// <see cref="TrainingContext.Logits"/> and <see cref="TrainingContext.Targets"/> are valid until AfterBatch returns.
    /// </summary>
    void AfterLoss(TrainingContext context) { }

    /// <summary>Training only: gradients are computed, the optimizer has not stepped yet.</summary>
    void BeforeStep(TrainingContext context) { }

    /// <summary>
    /// After each batch, training and validation. In training the optimizer has stepped and gradients are zeroed,
    /// and <see cref="TrainingContext.Iteration"/>/<see cref="TrainingContext.PctTrain"/> already count this batch
    /// (fastai's TrainEvalCallback runs first).
    /// </summary>
    void AfterBatch(TrainingContext context) { }

    /// <summary>After the last training batch of an epoch.</summary>
    void AfterTrain(TrainingContext context) { }

    /// <summary>Before validation; the model is in eval() mode and gradients are off. Not fired without a validation set.</summary>
    void BeforeValidate(TrainingContext context) { }

    /// <summary>After the last validation batch (or after validation was cancelled).</summary>
    void AfterValidate(TrainingContext context) { }

    /// <summary>At the end of each epoch, after validation.</summary>
    void AfterEpoch(TrainingContext context) { }

    /// <summary>
    /// Once at the end of a fit. Unlike the other After* events it also fires when the fit ends with an exception
    /// (cancellation, divergence), so callbacks can restore what they changed.
    /// </summary>
    void AfterFit(TrainingContext context) { }
}
