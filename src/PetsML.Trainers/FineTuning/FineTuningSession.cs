using PetsML.Trainers.Modeling;
using PetsML.Trainers.Training;
using PetsML.Transforms.Augmentation;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// A frozen learner over a pipeline's data, for recipes driven step by step (the lesson's
/// <c>fit_one_cycle(3, 3e-3); unfreeze(); lr_find(); fit_one_cycle(12, slice(1e-6, 1e-4))</c>).
/// <see cref="ToTransformer(ImageFineTuningOptions)"/> turns the result into the same ML.NET transformer Fit returns.
/// </summary>
internal sealed class FineTuningSession : IDisposable
{
    readonly ClassifierInput _input;
    readonly BatchAugmenter _augmenter;

    internal FineTuningSession(Learner learner, ImageClassifier model, IReadOnlyList<string> classNames, ClassifierInput input,
        BatchAugmenter augmenter, int skippedUnlabeled)
    {
        Learner = learner;
        Model = model;
        ClassNames = classNames;
        _input = input;
        _augmenter = augmenter;
        SkippedUnlabeled = skippedUnlabeled;
    }

    public Learner Learner { get; }
    public ImageClassifier Model { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public int ImageSize => _input.ImageSize;
    public int SkippedUnlabeled { get; }

    /// <summary>The files left out because they are not images (<see cref="ImageFineTuningOptions.SkipBadImages"/>); empty otherwise.</summary>
    public IReadOnlyList<PetsML.Transforms.Imaging.BadImage> SkippedImages { get; init; } = [];

    /// <summary>The training and validation images, for the calibration after training.</summary>
    internal IReadOnlyList<PetsML.Transforms.Batching.LabeledImage> TrainItems { get; init; } = [];
    internal IReadOnlyList<PetsML.Transforms.Batching.LabeledImage> ValidItems { get; init; } = [];

    /// <summary>
    /// Fits the temperature and the outlier statistics of <paramref name="classifier"/> (<see cref="ScoreCalibrationFit"/>) on this
    /// session's images, through the deterministic validation path at the trained size.
    /// </summary>
    internal ScoreCalibration FitCalibration(ImageClassifierTransformer classifier, double acceptShare, int seed, Action<string> log)
    {
        using var augmenter = new BatchAugmenter(_input.Augment);
        var options = new PetsML.Transforms.Batching.BatchSourceOptions { BatchSize = classifier.InferenceBatchSize, Seed = seed, Device = TorchSharp.torch.CPU };
        var train = new PetsML.Transforms.Batching.ImageBatchSource(ScoreCalibrationFit.SampleTraining(TrainItems, seed), _input.Steps.Presize, augmenter, training: false, options);
        var valid = ValidItems.Count > 0 ? new PetsML.Transforms.Batching.ImageBatchSource(ValidItems, _input.Steps.Presize, augmenter, training: false, options) : null;
        return ScoreCalibrationFit.Fit(classifier, train, valid, acceptShare, log);
    }

    /// <summary>The training plan Prepare decided (batch, epochs, learning rate).</summary>
    public required TrainingPlan Plan { get; init; }

    /// <summary>The progressive-resizing switch between sizes (<see cref="TrainingTricksOptions.ProgressiveResizing"/>), or null.</summary>
    internal Tricks.ProgressiveResizing? Progressive { get; init; }

    /// <summary>The trained model as an ML.NET transformer (it takes over the model; the session only disposes the learner).</summary>
    public ImageClassifierTransformer ToTransformer(ImageFineTuningOptions options)
        => ToTransformer(options, new TrainingHistory(Learner.History.ToList(), null, SkippedUnlabeled, Learner.Recorder.LearningRates.ToList(), Learner.Recorder.SmoothedLosses.ToList())
            { SkippedImages = SkippedImages });

    internal ImageClassifierTransformer ToTransformer(ImageFineTuningOptions options, TrainingHistory history)
        => new(Model, options.Architecture, ClassNames, _input.ColumnName, ImageSize, options.Compute.Device, history, ownsModel: true,
            _input.Kind, _input.Kind == ClassifierInputKind.Raw ? _input.Steps.Presize : null, _input.Augment,
            options.ScoreColumnName, options.PredictedLabelColumnName);

    public void Dispose()
    {
        Learner.Dispose();
        _augmenter.Dispose();
        Progressive?.Dispose();
    }
}
