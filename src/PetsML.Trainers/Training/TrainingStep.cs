using PetsML.Trainers.Losses;
using PetsML.Trainers.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// Forward, loss, backward and optimizer step for one batch: the only place that knows the numeric precision.
/// The loop calls these four in order and fires its events between them, so a mixed-precision variant
/// (bf16 working copy, fp32 master weights) overrides these members without touching the loop.
/// </summary>
internal class TrainingStep
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

    /// <summary>The step for <paramref name="precision"/>.</summary>
    public static TrainingStep Create(TrainingPrecision precision, nn.Module<Tensor, Tensor> model, FastaiAdam optimizer,
        ClassificationLoss loss, Device device, bool channelsLast) => precision switch
    {
        TrainingPrecision.Fp32 => new TrainingStep(model, optimizer, loss, device, channelsLast),
        _ => throw new NotSupportedException($"Training precision {precision} is not implemented."),
    };

    /// <summary>The device inputs are moved to.</summary>
    public Device Device => _device;

    /// <summary>Moves targets to the device (int64).</summary>
    public virtual Tensor PrepareTargets(Tensor targets) => targets.to(_device).to(ScalarType.Int64);

    /// <summary>Runs the model on a batch of images; returns fp32 logits [N, C]. Used by training and evaluation.</summary>
    public virtual Tensor Forward(Tensor images)
    {
        var x = images.to(_device);
        if (_channelsLast)
            // Same logical N×C×H×W tensor, stored NHWC-contiguous: convolutions pick their channels-last kernels.
            x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        return _model.forward(x);
    }

    /// <summary>The mean loss of the batch.</summary>
    public virtual Tensor Loss(Tensor logits, Tensor targets) => _loss.Compute(logits, targets);

    /// <summary>Back-propagates the loss into the parameters' gradients.</summary>
    public virtual void Backward(Tensor loss) => loss.backward();

    /// <summary>Applies the optimizer and zeroes the gradients.</summary>
    public virtual void Step()
    {
        _optimizer.Step();
        _optimizer.ZeroGrad();
    }
}
