using PetsML.Trainers.Losses;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// Forward, loss, backward and optimizer step for one batch: the only place that knows the numeric precision.
/// The loop calls these four in order and fires its events between them, so a mixed-precision variant
/// (<see cref="Bf16MixedTrainingStep"/>: bf16 working copy, fp32 master weights) overrides these members without
/// touching the loop.
/// </summary>
internal class TrainingStep : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly FastaiAdam _optimizer;
    private readonly ClassificationLoss _loss;
    private readonly Device _device;
    private readonly bool _channelsLast;

    protected TrainingStep(nn.Module<Tensor, Tensor> model, FastaiAdam optimizer, ClassificationLoss loss, Device device, bool channelsLast)
    {
        _model = model;
        _optimizer = optimizer;
        _loss = loss;
        _device = device;
        _channelsLast = channelsLast;
    }

    /// <summary>
    /// The step for <paramref name="precision"/> (already resolved: <see cref="TrainingPrecision.Auto"/> is refused).
    /// <see cref="TrainingPrecision.Bf16Mixed"/> needs a model that implements <see cref="IReplicableModule"/>.
    /// </summary>
    public static TrainingStep Create(TrainingPrecision precision, nn.Module<Tensor, Tensor> model, FastaiAdam optimizer,
        ClassificationLoss loss, Device device, bool channelsLast, Bf16BatchNorm batchNorm = ComputeOptions.Defaults.Bf16BatchNorm) => precision switch
    {
        TrainingPrecision.Fp32 => new TrainingStep(model, optimizer, loss, device, channelsLast),
        TrainingPrecision.Bf16Mixed => new Bf16MixedTrainingStep(model, optimizer, loss, device, channelsLast, batchNorm),
        _ => throw new NotSupportedException($"Training precision {precision} must be resolved (PrecisionResolver) before a step is made."),
    };

    /// <summary>The precision this step computes in.</summary>
    public virtual TrainingPrecision Precision => TrainingPrecision.Fp32;

    /// <summary>The device inputs are moved to.</summary>
    public Device Device => _device;

    /// <summary>The learner's model (fp32; what the optimizer, freezing and checkpoints see).</summary>
    protected nn.Module<Tensor, Tensor> Model => _model;

    /// <summary>The optimizer over the model's parameters.</summary>
    protected FastaiAdam Optimizer => _optimizer;

    /// <summary>Whether inputs are made channels-last.</summary>
    protected bool ChannelsLast => _channelsLast;

    /// <summary>The module forwards run on: the model itself in fp32.</summary>
    protected virtual nn.Module<Tensor, Tensor> Runner => _model;

    /// <summary>
    /// Brings whatever the step keeps next to the model up to date with it (weights, buffers, requires_grad), and
    /// drops stale gradients. The learner calls it at the start of every fit and evaluation, so changes made to the
    /// model between them (loading weights, freezing, lr_find's restore) are seen. Nothing to do in fp32.
    /// </summary>
    public virtual void Refresh()
    {
    }

    /// <summary>Moves targets to the device (int64).</summary>
    public virtual Tensor PrepareTargets(Tensor targets) => targets.to(_device).to(ScalarType.Int64);

    /// <summary>The batch as the runner takes it: on the device, in its dtype, channels-last when asked.</summary>
    protected virtual Tensor PrepareInput(Tensor images)
    {
        var x = images.to(_device);
        return _channelsLast ? MemoryLayout.ToChannelsLast(x) : x;
    }

    /// <summary>Runs the model on a batch of images; returns fp32 logits [N, C]. Used by training and evaluation.</summary>
    public virtual Tensor Forward(Tensor images) => _model.forward(PrepareInput(images));

    /// <summary>The mean loss of the batch.</summary>
    public virtual Tensor Loss(Tensor logits, Tensor targets) => _loss.Compute(logits, targets);

    /// <summary>Back-propagates the loss into the (model's) parameters' gradients.</summary>
    public virtual void Backward(Tensor loss) => loss.backward();

    /// <summary>Applies the optimizer and zeroes the gradients.</summary>
    public virtual void Step()
    {
        _optimizer.Step();
        _optimizer.ZeroGrad();
    }

    /// <summary>
    /// Replaces every BatchNorm's running statistics by their plain average over <paramref name="batches"/> (image
    /// tensors): BatchNorm layers in train mode with momentum null (cumulative average), everything else in eval mode
    /// (no dropout), no gradients. Returns the number of batches used; with none, the statistics are left as they were.
    /// </summary>
    public int RecomputeBatchNormStatistics(IEnumerable<Tensor> batches)
    {
        Refresh();
        var runner = Runner;
        var norms = runner.named_modules().Select(m => m.module).OfType<BatchNorm>().Where(n => n.track_running_stats).ToList();
        var momenta = norms.Select(n => n.momentum).ToList();
        bool wasTraining = runner.training;
        int used = 0;
        try
        {
            runner.eval();
            using var noGrad = no_grad();
            foreach (var images in batches)
            {
                if (used == 0)
                {
                    foreach (var norm in norms)
                    {
                        norm.reset_running_stats();
                        norm.momentum = null;
                        norm.train();
                    }
                }
                using var scope = NewDisposeScope();
                runner.forward(PrepareInput(images));
                used++;
            }
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++) norms[i].momentum = momenta[i];
            runner.train(wasTraining);
        }
        if (used > 0) AfterStatisticsChanged();
        return used;
    }

    /// <summary>Called after the runner's BatchNorm statistics changed outside a training step. Nothing to do in fp32.</summary>
    protected virtual void AfterStatisticsChanged()
    {
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
