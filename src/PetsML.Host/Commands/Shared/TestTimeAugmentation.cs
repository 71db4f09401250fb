using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Cli;
using PetsML.Trainers.FineTuning;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// <c>--tta</c> of evaluate, interpret and predict: fastai's <c>learn.tta()</c> on a saved model, the model's steps up to
/// its classifier, then <see cref="ImageClassifierTransformer.TransformWithTta"/> (the image plus 4 augmented copies,
/// beta 0.25, seed 42).
/// </summary>
public static class TestTimeAugmentation
{
    public const string Help = "Test-time augmentation (fastai's learn.tta()): average each image's prediction over 4 training-augmented copies, mixed with the plain one (beta 0.25); about 5x the time.";

    /// <summary>
    /// <paramref name="rows"/> through <paramref name="model"/> with test-time augmentation: every step but the last, then
    /// <paramref name="select"/> (e.g. the validation rows, so only they are augmented), then the classifier's TTA.
    /// </summary>
    public static IDataView Score(ITransformer model, IDataView rows, Func<IDataView, IDataView>? select = null)
    {
        if (!ClassifierStep.TrySplit(model, out var before, out var classifier))
            throw new BadInputException("--tta: the model's last step is not PetsML's image classifier, so there is nothing to augment for.");
        var beforeClassifier = before.Transform(rows);
        return classifier.TransformWithTta(select is null ? beforeClassifier : select(beforeClassifier));
    }
}
