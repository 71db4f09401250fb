using System.Text.Json;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// The training side of issue 10, numerically: repeats the reference's fine_tune that bench/step_check.py ran, from
/// the same initial weights on the same fixed photos (no augmentation, no dropout), through PetsML's Learner, and sets
/// the per-epoch losses and errors beside the reference's. Equal up to float rounding means the optimiser, schedules,
/// freezing, BatchNorm and loss agree; the difference is then in the data or the random streams.
/// </summary>
internal static class StepCheck
{
    public const string Help = "fine_tune on bench/step_check.py's fixed data and initial weights: --dir D [--channels-last false] [--threads 2]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        string dir = a.String("dir") ?? throw new ArgumentException("--dir is required (the folder bench/step_check.py wrote)");
        torch.set_num_threads(a.Int("threads", 2));
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "meta.json")));
        var m = meta.RootElement;
        int nTrain = m.GetProperty("n_train").GetInt32(), nValid = m.GetProperty("n_valid").GetInt32();
        int size = m.GetProperty("size").GetInt32(), bs = m.GetProperty("bs").GetInt32();
        int epochs = m.GetProperty("epochs").GetInt32(), freezeEpochs = m.GetProperty("freeze_epochs").GetInt32();
        int classes = m.GetProperty("classes").GetArrayLength(), n = nTrain + nValid;

        using var scope = torch.NewDisposeScope();
        var bytes = File.ReadAllBytes(Path.Combine(dir, "images.u8"));
        var labelBytes = File.ReadAllBytes(Path.Combine(dir, "labels.i64"));
        var images = torch.tensor(bytes, [n, 3, size, size]).to(torch.float32).div_(255);
        var stats = NormalizationStats.ImageNet;
        images.sub_(torch.tensor(stats.Mean, [1, 3, 1, 1])).div_(torch.tensor(stats.Std, [1, 3, 1, 1]));
        var labels = torch.tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(labelBytes).ToArray(), [n]);

        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, classes, seed: 0, pretrained: true);
        using (var reference = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, classes, seed: 0, pretrained: true))
        {
            WeightFiles.Load(reference, Path.Combine(dir, "init.pt"), skip: InputMap);
            var ours = model.state_dict();
            double bodyGap = reference.state_dict()
                .Where(kv => kv.Key.StartsWith("body.", StringComparison.Ordinal) && kv.Value.is_floating_point())
                .Max(kv => (kv.Value - ours[kv.Key]).abs().max().item<float>());
            Console.WriteLine($"packaged body against the reference's initial body: max |difference| {bodyGap:g3}");
        }
        WeightFiles.Load(model, Path.Combine(dir, "init.pt"), skip: InputMap);
        var (scale, shift) = ImageClassifier.RenormalizationFor(stats.Mean, stats.Std, model.ModelStatistics.Mean, model.ModelStatistics.Std);
        model.SetInputRenormalization(scale, shift);

        var train = new TensorBatchSequence(images.narrow(0, 0, nTrain), labels.narrow(0, 0, nTrain), bs, shuffle: false, dropLast: true);
        var valid = new TensorBatchSequence(images.narrow(0, nTrain, nValid), labels.narrow(0, nTrain, nValid), bs);
        using var learner = new Learner(model, model.GetParameterGroups(), train, valid, new LearnerOptions
        {
            Compute = { Device = "cpu", ChannelsLast = a.String("channels-last", "false") == "true", Precision = TrainingPrecision.Fp32 },
            Callbacks = [new NoDropout()],
        });
        learner.Freeze();
        learner.FineTune(epochs, freezeEpochs: freezeEpochs);

        var rows = m.GetProperty("reference").EnumerateArray().ToArray();
        Console.WriteLine("epoch  train_loss (PetsML / reference)  valid_loss (PetsML / reference)  error_rate (PetsML / reference)");
        double worst = 0;
        for (int i = 0; i < learner.History.Count; i++)
        {
            var ours = learner.History[i];
            var r = rows[i];
            double rt = r.GetProperty("train_loss").GetDouble(), rv = r.GetProperty("valid_loss").GetDouble(), re = r.GetProperty("error_rate").GetDouble();
            worst = Math.Max(worst, Math.Abs(ours.ValidLoss!.Value - rv));
            Console.WriteLine($"{i,-6} {ours.TrainLoss,10:F6} / {rt,-10:F6}          {ours.ValidLoss,10:F6} / {rv,-10:F6}          {ours.ErrorRate,8:F4} / {re:F4}");
        }
        Console.WriteLine($"largest valid-loss difference: {worst:g3}");
        foreach (var (name, tensor) in model.Head.state_dict().Where(kv => kv.Value.is_floating_point()))
        {
            double refNorm = m.GetProperty("reference_head_norms").TryGetProperty(name, out var v) ? v.GetDouble() : double.NaN;
            Console.WriteLine($"head.{name,-16} norm {tensor.norm().item<float>(),12:F6} / {refNorm:F6}");
        }
        return 0;
    }

    /// <summary>PetsML's fixed input map (set below from the two sides' statistics); the reference has none.</summary>
    private static readonly string[] InputMap = ["input_scale", "input_shift"];

    /// <summary>Dropout off, as the reference's p = 0: the SeededDropout layers go to eval mode before every batch.</summary>
    private sealed class NoDropout : ILearnerCallback
    {
        public void BeforeBatch(TrainingContext context)
        {
            foreach (var dropout in context.Learner.Model.modules().OfType<SeededDropout>())
                dropout.eval();
        }
    }
}
