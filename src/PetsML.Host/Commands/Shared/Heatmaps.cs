using Microsoft.ML;
using PetsML.Host.Cli;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// Grad-CAM heat maps of image files through a saved model: the steps before the classifier make its input exactly as
/// for a prediction (centre presize, validation crop), then the classifier explains each image
/// (<see cref="ImageClassifierTransformer.GradCam(IDataView, int?)"/>). <c>map.ToPng()</c> is the overlay picture.
/// </summary>
public static class Heatmaps
{
    /// <summary>One map per path, in order, for each image's predicted class (or <paramref name="classIndex"/>).</summary>
    /// <exception cref="BadInputException">The model's last step is not PetsML's classifier.</exception>
    public static IReadOnlyList<GradCamMap> OfFiles(MLContext mlContext, ITransformer model, IReadOnlyList<string> paths, int? classIndex = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (!ClassifierStep.TrySplit(model, out var before, out var classifier))
            throw new BadInputException("--model: the model's last step is not PetsML's image classifier, so there is no network to explain.");
        var rows = mlContext.Data.LoadFromEnumerable(paths.Select(p => new ImageFileRow { ImagePath = p }).ToList());
        return classifier.GradCam(before.Transform(rows), classIndex).ToList();
    }
}
