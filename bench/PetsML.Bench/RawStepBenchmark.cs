using System.Diagnostics;
using System.Text.Json;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Batching;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// The raw training step: the packaged ResNet-18 with fastai's head on pre-made tensors (no decoding, no
/// augmentation), through the same Learner loop, frozen and unfrozen. The end-to-end epoch of the
/// 'pets' verb is compared against this (target: at least 90%).
/// </summary>
internal static class RawStepBenchmark
{
    public const string Help = "training step on pre-made tensors: [--bs 32] [--size 224] [--batches 8] [--classes 3] [--threads 2] [--channels-last true] [--out-json F]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        int bs = a.Int("bs", 32), size = a.Int("size", 224), batches = a.Int("batches", 8), classes = a.Int("classes", 3);
        torch.set_num_threads(a.Int("threads", 2));
        bool channelsLast = a.String("channels-last", "true") == "true";

        using var generator = new torch.Generator(1);
        using var images = torch.randn(new long[] { bs * batches, 3, size, size }, generator: generator);
        using var labels = torch.randint(0, classes, new long[] { bs * batches }, generator: generator);
        var data = new TensorBatchSequence(images, labels, bs, shuffle: true, dropLast: true, seed: 1);
        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, classes, seed: 1, pretrained: true);
        using var learner = new Learner(model, model.GetParameterGroups(), data, valid: null,
            new LearnerOptions { Compute = { Device = "cpu", ChannelsLast = channelsLast } });

        double Measure()
        {
            learner.Fit(1, 1e-4); // warm-up epoch (allocator, oneDNN kernels)
            var watch = Stopwatch.StartNew();
            learner.Fit(1, 1e-4);
            return data.ItemCount / watch.Elapsed.TotalSeconds;
        }

        learner.Freeze();
        double frozen = Measure();
        learner.Unfreeze();
        double unfrozen = Measure();
        var result = new { bs, size, batches, channels_last = channelsLast, frozen_images_per_s = frozen, unfrozen_images_per_s = unfrozen };
        var json = JsonSerializer.Serialize(result);
        if (a.String("out-json") is { } path) File.WriteAllText(path, json);
        Console.WriteLine(json);
        return 0;
    }
}
