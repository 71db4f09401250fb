using System.Runtime.InteropServices;
using System.Text.Json;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Bench;

/// <summary>
/// Issue 28's replay check, PetsML's half: writes every random number a real training run consumed, as the tensors it
/// became, so that bench/replay_check.py can train the reference from the same start on exactly those numbers.
/// Into the folder: <c>init.bin</c> + <c>init.json</c> (the model before the first step, raw float32 under PetsML's
/// state-dict names), <c>train-NNNN.bin</c> (each training batch as the model saw it: images float32 N×3×S×S, the
/// targets int64, then one uint8 keep-mask per head dropout layer, N×features), <c>valid.bin</c> (every validation
/// batch of the first epoch, images and targets; validation is deterministic) and <c>meta.json</c> (shapes, the
/// frozen epochs and PetsML's epoch rows; bench/replay_dump.py reads the folder). The images are what the body's
/// input map reads (ImageNet-normalised); the map itself (input_scale, input_shift) is in init.bin. Run with --channels-last false --precision fp32 so that the
/// reference, contiguous fp32 on the CPU, is compared with the same arithmetic.
/// </summary>
internal sealed class ReplayDump(string folder) : ILearnerCallback
{
    private readonly List<long[]> _validBatches = [];
    private readonly List<object> _batches = [];
    private readonly List<int> _fitEpochs = [];
    private bool _initWritten, _validDone;

    /// <summary>After every callback that changes a batch (they run at or below <see cref="CallbackOrder.Stop"/>).</summary>
    public int Order => 95;

    public void BeforeFit(TrainingContext context)
    {
        if (_initWritten) return;
        using var scope = NewDisposeScope();
        Directory.CreateDirectory(folder);
        var index = new List<object>();
        using var file = File.Create(Path.Combine(folder, "init.bin"));
        long offset = 0;
        foreach (var (name, tensor) in context.Learner.Model.state_dict())
        {
            if (!tensor.is_floating_point()) continue;
            var values = tensor.detach().cpu().to(float32).contiguous().data<float>().ToArray();
            file.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            index.Add(new { name, shape = tensor.shape, offset });
            offset += values.Length * 4L;
        }
        File.WriteAllText(Path.Combine(folder, "init.json"), JsonSerializer.Serialize(index));
        _initWritten = true;
    }

    public void BeforeBatch(TrainingContext context)
    {
        if (context.IsLrFind) return;
        if (!context.IsTraining)
        {
            if (_validDone) return;
            using var valid = new FileStream(Path.Combine(folder, "valid.bin"), _validBatches.Count == 0 ? FileMode.Create : FileMode.Append);
            WriteImagesAndTargets(valid, context);
            _validBatches.Add(context.Images!.shape);
            return;
        }
        _validDone |= _validBatches.Count > 0;
        using var train = File.Create(Path.Combine(folder, $"train-{_batches.Count:D4}.bin"));
        WriteImagesAndTargets(train, context);
        var masks = new List<long[]>();
        foreach (var dropout in context.Learner.Model.modules().OfType<SeededDropout>())
        {
            // The mask the layer is about to draw: the same generator state, the same shape (batch × features).
            using var state = dropout.GetGeneratorState();
            using var copy = new Generator(0);
            copy.set_state(state);
            long features = FeaturesBefore(context.Learner.Model, dropout);
            using var keep = rand([context.Images!.shape[0], features], generator: copy).ge(dropout.P).to(uint8);
            train.Write(keep.data<byte>().ToArray());
            masks.Add([context.Images.shape[0], features]);
        }
        _batches.Add(new { images = context.Images!.shape, masks });
    }

    public void AfterFit(TrainingContext context)
    {
        if (context.IsLrFind) return;
        var learner = context.Learner;
        _fitEpochs.Add(learner.Recorder.Epochs.Count);
        var meta = new
        {
            train_batches = _batches,
            valid_batches = _validBatches,
            // fine_tune is two fits, the frozen one first; a lone fit has no frozen epochs.
            freeze_epochs = _fitEpochs.Count > 1 ? _fitEpochs[0] : 0,
            dropout_p = learner.Model.modules().OfType<SeededDropout>().Select(d => d.P).ToArray(),
            // History gains this fit's rows only after AfterFit; the recorder holds them now.
            history = learner.History.Concat(learner.Recorder.Epochs).Select(h => new { train_loss = h.TrainLoss, valid_loss = h.ValidLoss, error_rate = h.ErrorRate }).ToArray(),
        };
        File.WriteAllText(Path.Combine(folder, "meta.json"), JsonSerializer.Serialize(meta));
    }

    private static void WriteImagesAndTargets(Stream stream, TrainingContext context)
    {
        using var images = context.Images!.detach().cpu().to(float32).contiguous();
        stream.Write(MemoryMarshal.AsBytes(images.data<float>().ToArray().AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(context.Targets!.cpu().to(int64).data<long>().ToArray().AsSpan()));
    }

    /// <summary>The width a head dropout sees: the input features of the Linear layer after it.</summary>
    private static long FeaturesBefore(nn.Module model, SeededDropout dropout)
    {
        var modules = model.modules().ToList();
        int at = modules.IndexOf(dropout);
        var linear = modules.Skip(at + 1).OfType<TorchSharp.Modules.Linear>().First();
        return linear.in_features;
    }
}
