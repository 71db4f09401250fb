using System.Diagnostics;
using PetsML.Trainers.Losses;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Optimization;
using PetsML.Trainers.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Bench;

/// <summary>
/// Training and inference images/s of the packaged ResNet-18 (37 classes, fastai head) through the library's own
/// training step, on pre-made random batches: fp32 NCHW, fp32 channels_last, bf16-mixed channels_last. Configurations
/// are interleaved round by round (a shared machine drifts); each round reports the median of its timed steps after
/// warm-up. Targets (issue 5): bf16-mixed training ≥ 1.8x fp32 NCHW, inference ≥ 2x.
/// </summary>
internal static class PrecisionBenchmark
{
    public const string Help = "training/inference images/s: fp32, fp32+channels_last, bf16-mixed+channels_last [--batch 32] [--size 224] " +
                               "[--rounds 2] [--warmup 2] [--steps 5] [--threads N] [--seed 42] [--bn fp32|native]";

    private sealed record Config(string Name, TrainingPrecision Precision, bool ChannelsLast);

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        int batch = a.Int("batch", 32), size = a.Int("size", 224), rounds = a.Int("rounds", 2);
        int warmup = a.Int("warmup", 2), steps = a.Int("steps", 5), seed = a.Int("seed", 42);
        var batchNorm = a.String("bn", "fp32") == "native" ? Bf16BatchNorm.Native : Bf16BatchNorm.Fp32Compute;
        if (a.String("threads") is { } threads) set_num_threads(int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture));

        Config[] configs =
        [
            new("fp32 NCHW", TrainingPrecision.Fp32, false),
            new("fp32 channels_last", TrainingPrecision.Fp32, true),
            new("bf16-mixed channels_last", TrainingPrecision.Bf16Mixed, true),
        ];
        Console.WriteLine($"ResNet-18 (packaged, pretrained) + fastai head, 37 classes; batch {batch}, {size}×{size}; {get_num_threads()} threads; " +
                          $"bf16 BatchNorm {batchNorm}; CPU bf16 native: {HardwareBf16Support.Instance.Supports(CPU)}; " +
                          $"{rounds} rounds × ({warmup} warm-up + {steps} timed) steps per configuration");

        using var generator = new Generator((ulong)seed);
        using var images = randn([batch, 3, size, size], generator: generator);
        using var labels = randint(0, 37, [batch], generator: generator, dtype: ScalarType.Int64);

        var rigs = configs.Select(c => Rig.Create(c, seed, batchNorm)).ToList();
        try
        {
            var train = configs.ToDictionary(c => c.Name, _ => new List<double>());
            var infer = configs.ToDictionary(c => c.Name, _ => new List<double>());
            for (int round = 1; round <= rounds; round++)
            {
                foreach (var rig in rigs)
                {
                    double t = Median(Time(warmup, steps, () => rig.TrainStep(images, labels)));
                    double i = Median(Time(warmup, steps, () => rig.Infer(images)));
                    train[rig.Config.Name].Add(batch / t);
                    infer[rig.Config.Name].Add(batch / i);
                    Console.WriteLine($"round {round}  {rig.Config.Name,-26} train {batch / t,7:F1} img/s   inference {batch / i,7:F1} img/s");
                }
            }
            Console.WriteLine();
            double trainBase = Median(train[configs[0].Name]), inferBase = Median(infer[configs[0].Name]);
            Console.WriteLine($"{"configuration",-26} {"train img/s",12} {"x fp32",7} {"infer img/s",12} {"x fp32",7}   (medians over rounds)");
            foreach (var c in configs)
            {
                double tr = Median(train[c.Name]), inf = Median(infer[c.Name]);
                Console.WriteLine($"{c.Name,-26} {tr,12:F1} {tr / trainBase,7:F2} {inf,12:F1} {inf / inferBase,7:F2}");
            }
        }
        finally
        {
            foreach (var rig in rigs) rig.Dispose();
        }
        return 0;
    }

    private static List<double> Time(int warmup, int steps, Action step)
    {
        for (int i = 0; i < warmup; i++) step();
        var seconds = new List<double>(steps);
        for (int i = 0; i < steps; i++)
        {
            var watch = Stopwatch.StartNew();
            step();
            seconds.Add(watch.Elapsed.TotalSeconds);
        }
        return seconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>One model, optimizer and training step per configuration, all trainable (the unfrozen phase).</summary>
    private sealed class Rig : IDisposable
    {
        private readonly ImageClassifier _model;
        private readonly FastaiAdam _optimizer;
        private readonly TrainingStep _step;

        private Rig(Config config, ImageClassifier model, FastaiAdam optimizer, TrainingStep step)
        {
            Config = config;
            _model = model;
            _optimizer = optimizer;
            _step = step;
        }

        public Config Config { get; }

        public static Rig Create(Config config, int seed, Bf16BatchNorm batchNorm)
        {
            var model = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, 37, seed, pretrained: true);
            var optimizer = new FastaiAdam(model.GetParameterGroups(), lr: 1e-4, wd: 0.01);
            var step = TrainingStep.Create(config.Precision, model, optimizer, ClassificationLoss.CrossEntropy, CPU, config.ChannelsLast, batchNorm);
            return new Rig(config, model, optimizer, step);
        }

        public void TrainStep(Tensor images, Tensor labels)
        {
            using var scope = NewDisposeScope();
            _model.train();
            var logits = _step.Forward(images);
            var loss = _step.Loss(logits, _step.PrepareTargets(labels));
            _step.Backward(loss);
            _step.Step();
        }

        public void Infer(Tensor images)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            _model.eval();
            _step.Forward(images);
        }

        public void Dispose()
        {
            _step.Dispose();
            _optimizer.Dispose();
            _model.Dispose();
        }
    }
}
