using Microsoft.ML;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;

namespace PetsML.Trainers;

/// <summary>The front door of PetsML's trainer.</summary>
public static class PetsTrainersCatalog
{
    /// <summary>
    /// fastai's <c>vision_learner(dls, resnet, metrics=error_rate).fine_tune(epochs)</c>: fine-tunes a pretrained
    /// ResNet (by default the ImageNet ResNet-18 that ships with PetsML) on the images of PetsML's data pipeline.
    /// </summary>
    public static ImageFineTuningTrainer FineTuneImageClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ImageFineTuningOptions? options = null)
        => new(options);

    /// <summary>
    /// Saves a model like <c>mlContext.Model.Save</c>, but to a temporary file next to <paramref name="path"/> that is
    /// flushed to the disk and moved into place only when complete, so a failure never leaves a half-written .zip behind
    /// (see <see cref="AtomicFile"/>).
    /// </summary>
    public static void SaveAtomically(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.Write(path, temporary => catalog.Save(model, inputSchema, temporary));
    }
}
