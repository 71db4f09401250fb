using PetsML.Trainers.Losses;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// bf16 mixed precision by hand (TorchSharp has no autocast): the learner's model stays fp32 and is the master copy;
/// forward and backward run on a private bf16 working copy.
/// </summary>
/// <remarks>
/// <para>Why the model stays fp32 and the step owns a second module (rather than the model going bf16 with masters
/// kept aside): everything outside the step — the parameter groups and <see cref="FastaiAdam"/>, freezing
/// (<c>requires_grad</c>), lr_find's snapshot/restore, checkpoints, <c>Model.save</c> in the ML.NET transformer — keeps
/// seeing plain fp32 parameters under the plain state-dict names, with no conversion anywhere. The price is one extra
/// module (the replica, bf16 weights: half the fp32 size) and the model must implement <see cref="IReplicableModule"/>.</para>
/// <para>Per training batch (docs/bf16-mixed-precision.md, "The training step"): input cast to bf16 (+ channels_last); forward on the
/// working copy; logits cast to fp32 for the loss; backward (bf16 grads); each bf16 grad copied into the fp32 master's
/// <c>.grad</c> (only masters with requires_grad: frozen ones get none) — so BeforeStep callbacks see fp32 grads; the
/// optimizer steps the masters; the trainable masters are copied back into the bf16 weights; the working grads are
/// zeroed; the working copy's BatchNorm buffers (fp32, running statistics and counters) are copied into the model's,
/// so the model is complete at every point a callback can look. No loss scaling: bf16 has fp32's exponent range.</para>
/// <para>The model is the authority: <see cref="Refresh"/> copies all of it (weights, buffers, requires_grad) into the
/// working copy, and the learner calls it at the start of every fit and evaluation.</para>
/// </remarks>
internal sealed class Bf16MixedTrainingStep : TrainingStep
{
    private readonly nn.Module<Tensor, Tensor> _working;
    private readonly (Parameter Master, Parameter Working)[] _parameters;
    /// <summary>Every buffer, model → working (cast) on refresh.</summary>
    private readonly (Tensor Master, Tensor Working)[] _buffers;
    /// <summary>The buffers the working copy keeps in the model's dtype (BatchNorm's), working → model after training forwards.</summary>
    private readonly (Tensor Master, Tensor Working)[] _sameDtypeBuffers;

    public Bf16MixedTrainingStep(nn.Module<Tensor, Tensor> model, FastaiAdam optimizer, ClassificationLoss loss, Device device,
        bool channelsLast, Bf16BatchNorm batchNorm) : base(model, optimizer, loss, device, channelsLast)
    {
        if (model is not IReplicableModule replicable)
            throw new NotSupportedException(
                $"bf16 mixed precision needs a bf16 working copy of the model, so the model ({model.GetType().Name}) must implement " +
                $"{nameof(IReplicableModule)} (ImageClassifier does). Use TrainingPrecision.Fp32 for other models.");
        var masterParameters = model.named_parameters().ToList();
        if (masterParameters.Any(p => p.parameter.dtype != ScalarType.Float32))
            throw new ArgumentException("bf16 mixed precision keeps the model's parameters as fp32 master weights; the model has non-fp32 parameters.", nameof(model));

        _working = replicable.CreateReplica();
        try
        {
            _working.to(device);
            Bf16Conversion.ToBf16(_working, batchNorm);
            // Collected after the conversion: TorchSharp replaces the tensors when it converts.
            var workingParameters = _working.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
            _parameters = masterParameters.Select(p => (p.parameter, workingParameters.TryGetValue(p.name, out var w) ? w
                : throw new InvalidOperationException($"The replica has no parameter '{p.name}': {nameof(IReplicableModule.CreateReplica)} must keep the names."))).ToArray();
            var workingBuffers = _working.named_buffers().ToDictionary(b => b.name, b => b.buffer, StringComparer.Ordinal);
            _buffers = model.named_buffers().Select(b => (b.buffer, workingBuffers.TryGetValue(b.name, out var w) ? w
                : throw new InvalidOperationException($"The replica has no buffer '{b.name}'."))).ToArray();
            _sameDtypeBuffers = _buffers.Where(b => b.Master.dtype == b.Working.dtype).ToArray();
        }
        catch
        {
            _working.Dispose();
            throw;
        }
        Refresh();
    }

    public override TrainingPrecision Precision => TrainingPrecision.Bf16Mixed;

    /// <summary>The bf16 working copy (for tests and diagnostics).</summary>
    internal nn.Module<Tensor, Tensor> WorkingCopy => _working;

    protected override nn.Module<Tensor, Tensor> Runner => _working;

    public override void Refresh()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (master, working) in _parameters)
        {
            working.copy_(master);
            if (working.requires_grad != master.requires_grad) working.requires_grad = master.requires_grad;
            // Stale gradients (a fit that ended between backward and step) must not be accumulated into.
            working.grad = null;
        }
        foreach (var (master, working) in _buffers) working.copy_(master);
        if (_working.training != Model.training) _working.train(Model.training);
    }

    protected override Tensor PrepareInput(Tensor images)
    {
        var x = images.to(Device).to(ScalarType.BFloat16);
        return ChannelsLast ? MemoryLayout.ToChannelsLast(x) : x;
    }

    public override Tensor Forward(Tensor images)
    {
        // The learner switches the model between train and eval; the working copy follows.
        bool training = Model.training;
        if (_working.training != training) _working.train(training);
        if (training && is_grad_enabled())
        {
            // Freezing is done on the masters (possibly by a callback mid-fit); frozen weights need no bf16 gradient.
            foreach (var (master, working) in _parameters)
                if (working.requires_grad != master.requires_grad) working.requires_grad = master.requires_grad;
        }
        // cross_entropy would return a bf16 loss from bf16 logits: the loss and metrics are computed in fp32.
        return _working.call(PrepareInput(images)).to(ScalarType.Float32);
    }

    public override void Backward(Tensor loss)
    {
        loss.backward();
        using var scope = NewDisposeScope(); // every p.grad getter returns a new handle
        using var noGrad = no_grad();
        foreach (var (master, working) in _parameters)
        {
            if (!master.requires_grad) continue;
            var workingGrad = working.grad;
            if (workingGrad is null) continue;
            var masterGrad = master.grad;
            if (masterGrad is null)
                // A fresh fp32 tensor, never an alias of the working grad (fp32 BatchNorm grads would otherwise share storage).
                master.grad = zeros_like(master).copy_(workingGrad);
            else
                masterGrad.copy_(workingGrad);
        }
    }

    public override void Step()
    {
        base.Step();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (master, working) in _parameters)
        {
            // Only trainable masters can have moved (frozen ones have no gradient, so the optimizer skips them).
            if (master.requires_grad) working.copy_(master);
            working.grad?.zero_();
        }
        CopyStatisticsToModel();
    }

    protected override void AfterStatisticsChanged() => CopyStatisticsToModel();

    /// <summary>The BatchNorm running statistics live in the working copy during training; the model gets them back.</summary>
    private void CopyStatisticsToModel()
    {
        using var noGrad = no_grad();
        foreach (var (master, working) in _sameDtypeBuffers) master.copy_(working);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _working.Dispose();
        base.Dispose(disposing);
    }
}
