using System.Diagnostics;
using System.Reflection;
using System.Text;
using PetsML.Trainers.Devices;
using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Losses;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Optimization;
using PetsML.Trainers.Scheduling;
using PetsML.Transforms.Batching;
using TorchSharp;
using static TorchSharp.torch;
using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>Learner</c> for single-label image classification: a model, its parameter groups, the training and
/// validation batches, fastai's Adam, and the loop with named events. The recipes <see cref="FineTune"/> →
/// <see cref="FitOneCycle"/> → <see cref="Fit"/> are ordinary methods of this class.
/// </summary>
/// <remarks>
/// The learner does not own the model or the batch sequences (dispose them yourself); it owns the optimizer state.
/// It draws no random numbers: shuffling and augmentation come from the batch sequences' seeds and the learner's
/// <see cref="DataEpoch"/>, so the same seeds give the same results on CPU. (Modules that draw at forward time, such as Dropout, use TorchSharp's generator.)
/// </remarks>
public sealed class Learner : IDisposable
{
    private readonly List<ILearnerCallback> _callbacks = [];
    private readonly List<EpochRecord> _history = [];
    private readonly TrainingStep _step;
    private readonly LearnerOptions _options;
    private bool _disposed;

    /// <param name="model">The network; logits [N, C] from images [N, 3, H, W]. Moved to the options' device if needed.</param>
    /// <param name="parameterGroups">The model's parameters in fastai's groups (names as in <c>named_parameters()</c>).</param>
    /// <param name="train">Training batches.</param>
    /// <param name="valid">Validation batches; null to train without validation.</param>
    /// <param name="options">Loss, weight decay, momentum cycle, device...; null for the defaults.</param>
    internal Learner(nn.Module<Tensor, Tensor> model, IReadOnlyList<ParameterGroup> parameterGroups, IBatchSequence train,
        IBatchSequence? valid = null, LearnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(parameterGroups);
        ArgumentNullException.ThrowIfNull(train);
        if (parameterGroups.Count == 0) throw new ArgumentException("At least one parameter group is needed.", nameof(parameterGroups));
        if (train.BatchCount < 1) throw new ArgumentException("The training sequence yields no batch.", nameof(train));
        _options = options?.Clone() ?? new LearnerOptions();
        _options.Validate();
        Device = TorchDevice.Resolve(_options.Compute.Device);
        Model = model;
        ParameterGroups = MoveToDevice(model, parameterGroups, Device);
        Train = train;
        Valid = valid;
        Optimizer = new FastaiAdam(ParameterGroups, lr: _options.LearningRate, wd: _options.WeightDecay);
        // Auto picks bf16 only where it can run: on a bf16 CPU, and for a model that can make its bf16 working copy.
        Precision = _options.Compute.Precision == TrainingPrecision.Auto && model is not IReplicableModule
            ? TrainingPrecision.Fp32
            : PrecisionResolver.Resolve(_options.Compute.Precision, Device, _options.Bf16Support);
        try
        {
            _step = TrainingStep.Create(Precision, model, Optimizer, _options.Loss, Device, _options.Compute.ChannelsLast, _options.Compute.Bf16BatchNorm);
        }
        catch
        {
            Optimizer.Dispose();
            throw;
        }
        Recorder = new Recorder();
        _callbacks.Add(Recorder);
        if (_options.Progress is not null) _callbacks.Add(new ProgressReporter(_options.Progress));
        _callbacks.AddRange(_options.Callbacks);
    }

    /// <summary>The network being trained.</summary>
    public nn.Module<Tensor, Tensor> Model { get; }

    /// <summary>The parameter groups (on <see cref="Device"/>).</summary>
    internal IReadOnlyList<ParameterGroup> ParameterGroups { get; }

    /// <summary>Training batches.</summary>
    internal IBatchSequence Train { get; }

    /// <summary>Validation batches, or null.</summary>
    internal IBatchSequence? Valid { get; }

    /// <summary>A copy of the options this learner was made with (changing it changes nothing).</summary>
    public LearnerOptions Options => _options.Clone();

    /// <summary>The loss on logits, for callbacks that replace it per batch (MixUp, CutMix) without copying the options.</summary>
    internal ClassificationLoss Loss => _options.Loss;

    /// <summary>The device the model trains on.</summary>
    public Device Device { get; }

    /// <summary>
    /// The precision the learner computes in: <see cref="ComputeOptions.Precision"/> with
    /// <see cref="TrainingPrecision.Auto"/> resolved (never Auto). In <see cref="TrainingPrecision.Bf16Mixed"/>
    /// <see cref="Model"/> keeps fp32 weights (the masters), and forwards run on a bf16 working copy.
    /// </summary>
    public TrainingPrecision Precision { get; }

    /// <summary>fastai's Adam over <see cref="ParameterGroups"/>.</summary>
    internal FastaiAdam Optimizer { get; }

    /// <summary>The recorder (always present): per-batch lrs and smoothed losses, per-epoch rows of the last fit.</summary>
    public Recorder Recorder { get; }

    /// <summary>The epoch rows of every Fit since the learner was made (not those of LrFind).</summary>
    public IReadOnlyList<EpochRecord> History => _history;

    /// <summary>
    /// Training epochs of data drawn in the learner's life, over every Fit, FitOneCycle, FineTune and LrFind (fastai's
    /// data loaders keep drawing: no epoch replays an earlier one's shuffle, crops or augmentation). The next training
    /// epoch asks the training sequence for <c>GetBatches(DataEpoch)</c>. Epochs a resumed fit skips count as drawn;
    /// checkpoints store it (<see cref="TrainingCheckpoint.DataEpoch"/>).
    /// </summary>
    public int DataEpoch { get; internal set; }

    /// <summary>The callbacks present in every fit, in order.</summary>
    public IReadOnlyList<ILearnerCallback> Callbacks => Sorted(_callbacks);

    /// <summary>Adds a callback to every later fit.</summary>
    public void AddCallback(ILearnerCallback callback) => _callbacks.Add(callback ?? throw new ArgumentNullException(nameof(callback)));

    /// <summary>Removes a callback added earlier; the recorder cannot be removed.</summary>
    public bool RemoveCallback(ILearnerCallback callback) => !ReferenceEquals(callback, Recorder) && _callbacks.Remove(callback);

    // ------------------------------------------------------------------ freezing

    /// <summary>fastai's <c>freeze()</c> = <c>FreezeTo(-1)</c>: only the last group (the head) and every norm parameter train.</summary>
    public void Freeze() => FreezeTo(-1);

    /// <summary>fastai's <c>unfreeze()</c> = <c>FreezeTo(0)</c>: every parameter trains.</summary>
    public void Unfreeze() => FreezeTo(0);

    /// <summary>
    /// Groups from <paramref name="n"/> on (Python slice: negative counts from the end) train; the groups before it
    /// are frozen except their norm parameters when <see cref="LearnerOptions.TrainBn"/>. Clears the optimizer state
    /// (moments and step counts), as fastai does.
    /// </summary>
    public void FreezeTo(int n)
    {
        int count = ParameterGroups.Count;
        int firstTrainable = n >= 0 ? Math.Min(n, count) : Math.Max(count + n, 0);
        for (int g = 0; g < count; g++)
        {
            var group = ParameterGroups[g];
            foreach (var (name, p) in group.Parameters)
            {
                bool trainable = g >= firstTrainable || (_options.TrainBn && group.IsNorm(name));
                p.requires_grad = trainable;
                // A frozen parameter must not keep an old gradient, or the optimizer would still step it.
                if (!trainable) p.grad = null;
            }
        }
        Optimizer.ClearState();
    }

    // ------------------------------------------------------------------ recipes

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs at a constant learning rate (spread over the groups as
    /// <see cref="LearningRate"/> says; default <see cref="LearnerOptions.LearningRate"/>). Optimizer state carries over
    /// from earlier fits. <paramref name="callbacks"/> join this fit only.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled; the loop stopped between batches.</exception>
    /// <exception cref="TrainingDivergedException">A training or validation loss was NaN or infinite.</exception>
    /// <remarks>startEpoch is fastai's <c>start_epoch</c>: epochs before it are skipped (no batches, no events), the rest
    /// run at the positions of an uninterrupted fit of <c>epochs</c> epochs. For resuming from a checkpoint.</remarks>
    public void Fit(int epochs, LearningRate? lr = null, IEnumerable<ILearnerCallback>? callbacks = null, CancellationToken cancellationToken = default,
        int startEpoch = 0)
    {
        RunFit(epochs, lr, callbacks, cancellationToken, isLrFind: false, startEpoch);
    }

    /// <summary>
    /// fastai's <c>fit_one_cycle</c>: per group, lr follows combined_cos(pctStart, L/div, L, L/divFinal) with L the
    /// peak from <paramref name="lrMax"/> (default <see cref="LearnerOptions.LearningRate"/>), and β1 follows
    /// combined_cos(pctStart, moms) (default <see cref="LearnerOptions.Moms"/>). Defaults: div 25, divFinal 1e5, pctStart 0.25.
    /// With <paramref name="startEpoch"/> k the first k epochs are skipped and the schedule continues from k/epochs, as if
    /// they had run (fastai's <c>start_epoch</c>).
    /// </summary>
    public void FitOneCycle(int epochs, LearningRate? lrMax = null, double div = 25, double divFinal = 1e5, double pctStart = 0.25,
        (double Start, double Middle, double End)? moms = null, IEnumerable<ILearnerCallback>? callbacks = null,
        CancellationToken cancellationToken = default, int startEpoch = 0)
    {
        var peaks = (lrMax ?? _options.LearningRate).ForGroups(ParameterGroups.Count);
        var scheduler = ParamScheduler.OneCycle(peaks, div, divFinal, pctStart, moms ?? _options.Moms);
        Fit(epochs, lrMax, (callbacks ?? []).Append(scheduler), cancellationToken, startEpoch);
    }

    /// <summary>
    /// fastai's <c>fine_tune</c>: <see cref="Freeze"/>; one-cycle for <paramref name="freezeEpochs"/> at slice(baseLr) with
    /// pctStart 0.99 (div stays 25); halve baseLr; <see cref="Unfreeze"/>; one-cycle for <paramref name="epochs"/> at
    /// slice(baseLr/lrMult, baseLr) with <paramref name="pctStart"/> and <paramref name="div"/>.
    /// Defaults: baseLr 2e-3, freezeEpochs 1, lrMult 100, pctStart 0.3, div 5.
    /// </summary>
    /// <remarks>resumeFrom: a checkpoint of this same fine_tune (same arguments, else ArgumentException) taken after some epochs:
    /// its weights are put back, the finished epochs are skipped, and inside a phase the optimizer state is restored, so the
    /// remaining epochs run exactly as in an uninterrupted fine_tune (the smoothed train_loss included). Null to start from the beginning.</remarks>
    public void FineTune(int epochs, double baseLr = 2e-3, int freezeEpochs = 1, double lrMult = 100, double pctStart = 0.3, double div = 5,
        CancellationToken cancellationToken = default, TrainingCheckpoint? resumeFrom = null)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be at least 1.");
        if (freezeEpochs < 0) throw new ArgumentOutOfRangeException(nameof(freezeEpochs), freezeEpochs, "freezeEpochs must be ≥ 0.");
        if (!(lrMult > 0)) throw new ArgumentOutOfRangeException(nameof(lrMult), lrMult, "lrMult must be positive.");
        var plan = new FineTunePlan(epochs, freezeEpochs, baseLr, lrMult, pctStart, div);
        var resume = resumeFrom is null ? null : new ResumeFromCheckpoint(resumeFrom, plan);
        ILearnerCallback[] extra = resume is null ? [] : [resume];
        Freeze();
        if (freezeEpochs > 0 && (resume?.FrozenStart ?? 0) < freezeEpochs)
            FitOneCycle(freezeEpochs, LearningRate.Slice(baseLr), pctStart: 0.99, callbacks: extra, cancellationToken: cancellationToken,
                startEpoch: resume?.FrozenStart ?? 0);
        baseLr /= 2;
        Unfreeze();
        FitOneCycle(epochs, LearningRate.Slice(baseLr / lrMult, baseLr), pctStart: pctStart, div: div, callbacks: extra,
            cancellationToken: cancellationToken, startEpoch: resume?.UnfrozenStart ?? 0);
    }

    /// <summary>
    /// fastai's <c>lr_find</c>: runs num_it/batches + 1 epochs with an <see cref="LrFinder"/> (every group's lr grows
    /// exponentially from <paramref name="startLr"/> to <paramref name="endLr"/>), no validation, then restores the
    /// weights and optimizer state. Defaults: 1e-7, 10, 100 iterations, stop at 4× the best smoothed loss.
    /// </summary>
    public LrFindResult LrFind(double startLr = LrFinder.Defaults.StartLr, double endLr = LrFinder.Defaults.EndLr,
        int numIt = LrFinder.Defaults.NumIt, bool stopDiv = true, CancellationToken cancellationToken = default)
    {
        var finder = new LrFinder(startLr, endLr, numIt, stopDiv);
        int epochs = finder.NumIt / Train.BatchCount + 1;
        RunFit(epochs, null, [finder], cancellationToken, isLrFind: true, startEpoch: 0);
        return LrFindResult.FromCurve(Recorder.LearningRates, Recorder.SmoothedLosses, numIt);
    }

    // ------------------------------------------------------------------ the loop

    private void RunFit(int epochs, LearningRate? lr, IEnumerable<ILearnerCallback>? extra, CancellationToken ct, bool isLrFind, int startEpoch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be at least 1.");
        if (startEpoch < 0 || startEpoch > epochs)
            throw new ArgumentOutOfRangeException(nameof(startEpoch), startEpoch, $"startEpoch must lie in [0, {epochs}] (the fit's epochs).");
        var callbacks = Sorted(_callbacks.Concat(extra ?? []).ToList());
        Optimizer.SetHyper("lr", (lr ?? _options.LearningRate).ForGroups(ParameterGroups.Count));
        Optimizer.SetHyper("wd", _options.WeightDecay);
        var context = new TrainingContext(this, epochs, ct, isLrFind, startEpoch);
        // Skipped epochs count as run: the iteration counter and pct_train continue from where they would be.
        context.Iteration = startEpoch * Train.BatchCount;
        context.PctTrain = (double)startEpoch / epochs;
        DataEpoch += startEpoch;
        try
        {
            Fire(callbacks, static (c, x) => c.BeforeFit(x), context);
            // After BeforeFit: a callback may have loaded weights into the model (resuming does).
            _step.Refresh();
            for (int epoch = startEpoch; epoch < epochs; epoch++)
            {
                context.Epoch = epoch;
                context.DataEpoch = DataEpoch++;
                Fire(callbacks, static (c, x) => c.BeforeEpoch(x), context);
                TrainEpoch(callbacks, context, checkDivergence: !isLrFind);
                ValidateEpoch(callbacks, context, checkDivergence: !isLrFind);
                Fire(callbacks, static (c, x) => c.AfterEpoch(x), context);
            }
        }
        catch (CancelFitException)
        {
            // A callback ended the fit early (e.g. the LR finder): a normal ending.
            context.StoppedEarly = true;
        }
        finally
        {
            // Whatever ended the fit, leave no half-built gradients behind; then let callbacks restore their state.
            Optimizer.ZeroGrad();
            Fire(callbacks, static (c, x) => c.AfterFit(x), context);
            if (!isLrFind) _history.AddRange(Recorder.Epochs);
        }
    }

    private void TrainEpoch(IReadOnlyList<ILearnerCallback> callbacks, TrainingContext context, bool checkDivergence)
    {
        Model.train();
        context.IsTraining = true;
        context.BatchCount = Train.BatchCount;
        context.PctTrain = (double)context.Epoch / context.EpochCount;
        Fire(callbacks, static (c, x) => c.BeforeTrain(x), context);
        RunBatches(Train, context.DataEpoch, callbacks, context, checkDivergence);
        Fire(callbacks, static (c, x) => c.AfterTrain(x), context);
    }

    private void ValidateEpoch(IReadOnlyList<ILearnerCallback> callbacks, TrainingContext context, bool checkDivergence)
    {
        if (Valid is null || Valid.BatchCount == 0) return;
        Model.eval();
        context.IsTraining = false;
        context.BatchCount = Valid.BatchCount;
        try
        {
            using var noGrad = no_grad();
            Fire(callbacks, static (c, x) => c.BeforeValidate(x), context);
            RunBatches(Valid, 0, callbacks, context, checkDivergence);
        }
        catch (CancelValidateException)
        {
            // A callback skipped validation (e.g. the LR finder).
        }
        Fire(callbacks, static (c, x) => c.AfterValidate(x), context);
    }

    /// <summary>Every batch of one epoch of <paramref name="data"/> through <see cref="OneBatch"/>.</summary>
    private void RunBatches(IBatchSequence data, int epoch, IReadOnlyList<ILearnerCallback> callbacks, TrainingContext context, bool checkDivergence)
    {
        int b = 0;
        foreach (var batch in data.GetBatches(epoch, context.CancellationToken))
        {
            using (batch)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                OneBatch(batch, b, callbacks, context, checkDivergence);
            }
            b++;
        }
    }

    /// <summary>
    /// The one batch body of training, validation, lr_find and predictions (fastai's <c>_do_one_batch</c>): BeforeBatch
    /// (callbacks may replace <see cref="TrainingContext.Images"/> and set <see cref="TrainingContext.LossFunction"/>),
    /// forward, loss, AfterLoss (callbacks may replace <see cref="TrainingContext.LossGrad"/>), and in training backward,
    /// BeforeStep (callbacks may set <see cref="TrainingContext.SkipStep"/>), step; then AfterBatch.
    /// </summary>
    private void OneBatch(ImageBatch batch, int index, IReadOnlyList<ILearnerCallback> callbacks, TrainingContext context, bool checkDivergence)
    {
        using var scope = NewDisposeScope();
        bool training = context.IsTraining;
        long totalBatches = (long)context.BatchCount * context.EpochCount;
        context.BatchIndex = index;
        context.BatchSize = batch.Count;
        context.BatchLoss = double.NaN;
        context.Images = batch.Images;
        context.Targets = _step.PrepareTargets(batch.Labels);
        context.LossFunction = null;
        context.SkipStep = false;
        // Schedule position of batch k of the fit: k/(batches·epochs), written so that it is exact.
        if (training) context.PctTrain = (double)((long)context.Epoch * context.BatchCount + index) / totalBatches;
        try
        {
            Fire(callbacks, static (c, x) => c.BeforeBatch(x), context);

            var logits = _step.Forward(context.Images);
            var loss = context.LossFunction is { } lossFunction ? lossFunction(logits, context.Targets) : _step.Loss(logits, context.Targets);
            context.BatchLoss = loss.item<float>();
            context.Logits = logits;
            context.Loss = context.LossGrad = loss;
            Fire(callbacks, static (c, x) => c.AfterLoss(x), context);
            // A non-finite validation loss (weights that are no longer numbers, e.g. BatchNorm statistics gone NaN
            // while the training loss, on batch statistics, stayed finite) ends the fit too: no model from it.
            if (!training && checkDivergence && !double.IsFinite(context.BatchLoss))
                throw TrainingDivergedException.InValidation(context.BatchLoss, context.Epoch, context.EpochCount, index, context.BatchCount);
            if (training)
            {
                if (checkDivergence && !double.IsFinite(context.BatchLoss))
                    throw new TrainingDivergedException(context.BatchLoss, context.Epoch, context.EpochCount, index, context.BatchCount, Optimizer.GetHyper("lr")[^1]);
                _step.Backward(context.LossGrad);
                Fire(callbacks, static (c, x) => c.BeforeStep(x), context);
                if (!context.SkipStep) _step.Step();
                context.Iteration++;
                context.PctTrain = (double)((long)context.Epoch * context.BatchCount + index + 1) / totalBatches;
            }
            Fire(callbacks, static (c, x) => c.AfterBatch(x), context);
        }
        finally
        {
            context.Images = context.Logits = context.Targets = context.Loss = context.LossGrad = null;
            context.LossFunction = null;
        }
    }

    private static void Fire(IReadOnlyList<ILearnerCallback> callbacks, Action<ILearnerCallback, TrainingContext> evt, TrainingContext context)
    {
        foreach (var callback in callbacks) evt(callback, context);
    }

    private static List<ILearnerCallback> Sorted(List<ILearnerCallback> callbacks) =>
        callbacks.Select((c, i) => (c, i)).OrderBy(t => t.c.Order).ThenBy(t => t.i).Select(t => t.c).ToList();

    // ------------------------------------------------------------------ predictions

    /// <summary>
    /// fastai's <c>get_preds</c> with losses: eval mode, no gradients, over <paramref name="data"/> (default the
    /// validation sequence, epoch 0, in the order it yields). Returns CPU tensors the caller owns: probabilities
    /// [N, C] (softmax), targets [N], per-item losses [N].
    /// </summary>
    internal Predictions GetPreds(IBatchSequence? data = null, CancellationToken cancellationToken = default) =>
        PredictEpoch(data, epoch: 0, cancellationToken);

    /// <summary>GetPreds over epoch <paramref name="epoch"/> of the data (TTA's augmented draws).</summary>
    private Predictions PredictEpoch(IBatchSequence? data, int epoch, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        data ??= Valid ?? throw new InvalidOperationException("GetPreds needs a batch sequence: the learner has no validation set.");
        Model.eval();
        _step.Refresh();
        using var noGrad = no_grad();
        using var gather = new PredictionGatherer(_options.Loss);
        var context = new TrainingContext(this, 1, cancellationToken) { IsTraining = false, BatchCount = data.BatchCount };
        RunBatches(data, epoch, [gather], context, checkDivergence: false);
        return gather.ToPredictions();
    }

    /// <summary>fastai's mix of TTA's probabilities, <c>torch.lerp(augmentedMean, plain, beta)</c>, for every TTA of PetsML.</summary>
    internal static Tensor MixTta(Tensor augmentedMean, Tensor plain, double beta) => augmentedMean.mul(1 - beta).add(plain.mul(beta));

    /// <summary>
    /// fastai's <c>tta(n=4, beta=0.25)</c>: the predictions over <paramref name="data"/> (default the validation set)
    /// mixed with the mean of <paramref name="n"/> augmented passes, <c>lerp(augmentedMean, plain, beta)</c> =
    /// (1 − beta)·mean of the augmented probabilities + beta·the plain ones. Augmented pass i is epoch i of
    /// <paramref name="augmented"/>: the same items in the same order, with the training augmentation (for images,
    /// <c>ImageBatchSource.WithTrainingAugmentation()</c>). The losses are −log of the mixed probability of the target.
    /// </summary>
    /// <exception cref="ArgumentException">The augmented sequence's targets differ from the data's.</exception>
    internal Predictions Tta(IBatchSequence augmented, IBatchSequence? data = null, int n = 4, double beta = 0.25, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(augmented);
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n (augmented passes) must be at least 1.");
        if (!(beta >= 0 && beta <= 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must lie in [0, 1].");
        using var plain = PredictEpoch(data, 0, cancellationToken);
        using var scope = NewDisposeScope();
        var sum = zeros_like(plain.Probabilities);
        for (int i = 0; i < n; i++)
        {
            using var pass = PredictEpoch(augmented, i, cancellationToken);
            if (pass.Count != plain.Count || !pass.Targets.eq(plain.Targets).all().item<bool>())
                throw new ArgumentException("TTA: the augmented sequence must yield the data's items in the same order (its targets differ).", nameof(augmented));
            sum.add_(pass.Probabilities);
        }
        var probs = MixTta(sum.div(n), plain.Probabilities, beta);
        var targets = plain.Targets.clone();
        var losses = probs.gather(1, targets.unsqueeze(1)).squeeze(1).clamp_min(1e-12).log().neg();
        var result = new Predictions(probs, targets, losses);
        scope.MoveToOuter(result.Probabilities, result.Targets, result.Losses);
        return result;
    }

    /// <summary>
    /// Class probabilities for one preprocessed image, [3, H, W] or [1, 3, H, W] (normalised like the training data).
    /// Does not take ownership of <paramref name="image"/>.
    /// </summary>
    internal Prediction Predict(Tensor image)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(image);
        if (!(image.dim() == 3 || (image.dim() == 4 && image.shape[0] == 1)))
            throw new ArgumentException($"Predict expects one image [3, H, W] or [1, 3, H, W]; got [{string.Join(", ", image.shape)}].", nameof(image));
        Model.eval();
        _step.Refresh();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = image.dim() == 3 ? image.unsqueeze(0) : image;
        var probs = _options.Loss.Activation(_step.Forward(x)).to(ScalarType.Float32).cpu().data<float>().ToArray();
        int best = 0;
        for (int i = 1; i < probs.Length; i++) if (probs[i] > probs[best]) best = i;
        return new Prediction(best, probs);
    }

    // ------------------------------------------------------------------ BatchNorm statistics

    /// <summary>
    /// Recomputes every BatchNorm layer's running statistics as the plain average over the first
    /// <paramref name="batches"/> batches of <paramref name="data"/> (default the training sequence, epoch 0):
    /// train-mode BatchNorm with momentum null, the rest of the network in eval mode (no dropout), no gradients, in
    /// the learner's precision. A cheap safeguard before evaluation or export, after bf16-mixed training in particular
    /// (docs/bf16-mixed-precision.md, "Refreshing BatchNorm statistics"). Returns the number of batches used (fewer when the data has fewer).
    /// </summary>
    internal int RecomputeBatchNormStatistics(int batches = 20, IBatchSequence? data = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (batches < 1) throw new ArgumentOutOfRangeException(nameof(batches), batches, "batches must be at least 1.");
        data ??= Train;
        return _step.RecomputeBatchNormStatistics(Images());

        IEnumerable<Tensor> Images()
        {
            int n = 0;
            foreach (var batch in data.GetBatches(0, cancellationToken))
            {
                using (batch)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return batch.Images;
                }
                if (++n >= batches) yield break;
            }
        }
    }

    // ------------------------------------------------------------------ description

    /// <summary>
    /// fastai's <c>show_training_loop</c>: the events in the order they fire, with the learner's own work between
    /// them and, at each event, the callbacks (standing ones plus <paramref name="extraCallbacks"/>) that handle it.
    /// </summary>
    public string DescribeLoop(IEnumerable<ILearnerCallback>? extraCallbacks = null)
    {
        var callbacks = Sorted(_callbacks.Concat(extraCallbacks ?? []).ToList());
        var sb = new StringBuilder();
        void Event(int indent, string name)
        {
            var handlers = callbacks.Where(c => Handles(c, name)).Select(c => c.GetType().Name);
            sb.Append(' ', indent).Append("- ").Append(name.PadRight(15)).Append(": [").Append(string.Join(", ", handlers)).AppendLine("]");
        }
        void Text(int indent, string text) => sb.Append(' ', indent).AppendLine(text);

        Text(0, "Start Fit");
        Event(3, nameof(ILearnerCallback.BeforeFit));
        Text(2, "Start Epoch Loop");
        Event(5, nameof(ILearnerCallback.BeforeEpoch));
        Text(4, "Start Train  (model.train())");
        Event(7, nameof(ILearnerCallback.BeforeTrain));
        Text(6, "Start Batch Loop");
        Event(9, nameof(ILearnerCallback.BeforeBatch));
        Text(9, "  (forward, loss)");
        Event(9, nameof(ILearnerCallback.AfterLoss));
        Text(9, "  (backward)");
        Event(9, nameof(ILearnerCallback.BeforeStep));
        Text(9, "  (optimizer step, zero_grad, iteration += 1)");
        Event(9, nameof(ILearnerCallback.AfterBatch));
        Text(6, "End Batch Loop");
        Event(7, nameof(ILearnerCallback.AfterTrain));
        Text(4, "End Train");
        Text(4, "Start Valid  (model.eval(), no_grad)");
        Event(7, nameof(ILearnerCallback.BeforeValidate));
        Text(6, "Start Batch Loop");
        Event(9, nameof(ILearnerCallback.BeforeBatch));
        Text(9, "  (forward, loss)");
        Event(9, nameof(ILearnerCallback.AfterLoss));
        Event(9, nameof(ILearnerCallback.AfterBatch));
        Text(6, "End Batch Loop");
        Event(7, nameof(ILearnerCallback.AfterValidate));
        Text(4, "End Valid");
        Event(5, nameof(ILearnerCallback.AfterEpoch));
        Text(2, "End Epoch Loop");
        Event(3, nameof(ILearnerCallback.AfterFit));
        Text(0, "End Fit");
        return sb.ToString();
    }

    /// <summary>True when the callback's class implements the event itself rather than using the interface's no-op default.</summary>
    private static bool Handles(ILearnerCallback callback, string eventName)
    {
        var map = callback.GetType().GetInterfaceMap(typeof(ILearnerCallback));
        for (int i = 0; i < map.InterfaceMethods.Length; i++)
            if (map.InterfaceMethods[i].Name == eventName)
                return map.TargetMethods[i].DeclaringType != typeof(ILearnerCallback);
        return false;
    }

    // ------------------------------------------------------------------ setup helpers

    /// <summary>
    /// Moves the model to the device when it is elsewhere. TorchSharp replaces parameter objects when moving, so the
    /// groups are then rebuilt from the model's own named parameters.
    /// </summary>
    private static IReadOnlyList<ParameterGroup> MoveToDevice(nn.Module<Tensor, Tensor> model, IReadOnlyList<ParameterGroup> groups, Device device)
    {
        bool onDevice = groups.SelectMany(g => g.Parameters).All(p => p.Parameter.device.type == device.type && p.Parameter.device.index == device.index);
        if (onDevice) return groups;
        model.to(device);
        var byName = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        return groups.Select(g => new ParameterGroup(g.Name,
            g.Parameters.Select(p => (p.Name, byName.TryGetValue(p.Name, out var moved) ? moved
                : throw new ArgumentException($"Parameter '{p.Name}' of group '{g.Name}' is not a named parameter of the model, so it cannot follow the model to {device}.", nameof(groups)))).ToList(),
            g.NormParameterNames)).ToList();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _step.Dispose();
        Optimizer.Dispose();
        _disposed = true;
    }
}
