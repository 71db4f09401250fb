using System.Diagnostics;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// Estimates one epoch's seconds for <see cref="ImageFineTuningOptions.MaxTrainingTime"/>: times forward + backward passes
/// of one batch of the plan's size through a throwaway copy of the network (random weights, unfrozen: the slower phase),
/// so the model, its generators and the data's random draws are untouched. Adds the data preparation at about
/// <see cref="PreparationSecondsPerPhoto"/> a photo per decode thread, and validation at a third of a training image.
/// An estimate: it times fp32 (bf16-mixed is faster where the CPU has it) on a machine whose load may change.
/// </summary>
internal static class TrainingTimeProbe
{
    /// <summary>Decoding, presizing and augmenting one photo on one core (bench/README.md: about 4 ms decode, plus the rest).</summary>
    internal const double PreparationSecondsPerPhoto = 0.008;

    /// <summary>Passes timed after one warm-up pass; the fastest counts.</summary>
    const int TimedPasses = 2;

    public static double SecondsPerEpoch(TrainingPlan plan, ImageFineTuningOptions options, Device device, int imageSize)
    {
        double perImage = SecondsPerTrainingImage(options.Architecture, plan.Classes, plan.BatchSize, imageSize, device, options.Compute.ChannelsLast);
        double preparation = PreparationSecondsPerPhoto / Math.Max(1, options.Compute.DecodeThreads);
        int trained = plan.StepsPerEpoch * plan.BatchSize;
        return trained * (perImage + preparation) + plan.ValidationPhotos * (perImage / 3 + preparation);
    }

    static double SecondsPerTrainingImage(ResNetArchitecture architecture, int classes, int batchSize, int imageSize, Device device, bool channelsLast)
    {
        using var model = ImageClassifier.Create(architecture, classes, seed: 0, pretrained: false);
        model.to(device);
        model.train();
        using var generator = new Generator(0);
        double best = double.MaxValue;
        for (int pass = 0; pass <= TimedPasses; pass++)
        {
            using var scope = NewDisposeScope();
            var images = randn([batchSize, 3, imageSize, imageSize], generator: generator).to(device);
            if (channelsLast) images = MemoryLayout.ToChannelsLast(images);
            var watch = Stopwatch.StartNew();
            model.forward(images).sum().backward();
            watch.Stop();
            model.zero_grad();
            if (pass > 0) best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best / batchSize;
    }
}
