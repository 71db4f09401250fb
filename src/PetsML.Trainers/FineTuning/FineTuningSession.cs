using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// A frozen learner over a pipeline's data, for recipes driven step by step (the lesson's
/// <c>fit_one_cycle(3, 3e-3); unfreeze(); lr_find(); fit_one_cycle(12, slice(1e-6, 1e-4))</c>).
/// <see cref="ToTransformer"/> turns the result into the same ML.NET transformer Fit returns.
/// </summary>
public sealed class FineTuningSession : IDisposable
{
    internal FineTuningSession(Learner learner, ImageClassifier model, IReadOnlyList<string> classNames, int imageSize, int skippedUnlabeled)
    {
        Learner = learner;
        Model = model;
        ClassNames = classNames;
        ImageSize = imageSize;
        SkippedUnlabeled = skippedUnlabeled;
    }

    public Learner Learner { get; }
    public ImageClassifier Model { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int ImageSize { get; }
    public int SkippedUnlabeled { get; }

    /// <summary>The files left out because they are not images (<see cref="ImageFineTuningOptions.SkipBadImages"/>); empty otherwise.</summary>
    public IReadOnlyList<PetsML.Transforms.Imaging.BadImage> SkippedImages { get; init; } = [];

    /// <summary>The trained model as an ML.NET transformer (it takes over the model; the session only disposes the learner).</summary>
    public ImageClassifierTransformer ToTransformer(ImageFineTuningOptions options)
    {
        var history = new TrainingHistory(Learner.History.ToList(), null, SkippedUnlabeled, Learner.Recorder.LearningRates.ToList(), Learner.Recorder.SmoothedLosses.ToList());
        return new ImageClassifierTransformer(Model, options.Architecture, ClassNames, options.FeatureColumnName, ImageSize, options.Device, history, ownsModel: true);
    }

    public void Dispose() => Learner.Dispose();
}
