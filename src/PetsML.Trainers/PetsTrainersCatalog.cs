using PetsML;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Interop.MlNet;
using PetsML.Trainers.Training;

namespace Microsoft.ML;

/// <summary>The front door of PetsML's trainer.</summary>
public static class PetsTrainersCatalog
{
    /// <summary>
    /// fastai's <c>vision_learner(dls, resnet, metrics=error_rate).fine_tune(epochs)</c>: fine-tunes a pretrained
    /// ResNet (by default the ImageNet ResNet-18 that ships with PetsML) on an image column, with the lesson's
    /// defaults (presize 460, augmented 224-pixel crops, fine_tune(2) at 2e-3), in the shape of ML.NET's own
    /// <c>ImageClassification</c> trainer.
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">The label, a key column (<c>MapValueToKey</c>). Default "Label".</param>
    /// <param name="featureColumnName">
    /// The images: encoded bytes (<c>LoadRawImageBytes</c>), paths, MLImages (<c>LoadImages</c>), or the output of PetsML's
    /// Presize/AugmentImages. Default "Features".
    /// </param>
    /// <param name="scoreColumnName">The class probabilities written. Default "Score".</param>
    /// <param name="predictedLabelColumnName">The predicted class written (a key). Default "PredictedLabel".</param>
    /// <param name="validationSet">
    /// Validation data with the same columns. Default null: the "IsValidation" column if the data has one, else a seeded
    /// 20% of the rows (fastai's valid_pct).
    /// </param>
    public static ImageFineTuningTrainer FineTuneImageClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label",
        string featureColumnName = "Features",
        string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel",
        IDataView? validationSet = null)
        => new(new ImageFineTuningOptions
        {
            LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = predictedLabelColumnName, ValidationData = validationSet,
        }, MlNetContext.EnvironmentOf(catalog));

    /// <summary>The same trainer with every setting in <paramref name="options"/> (fastai's defaults where not set).</summary>
    public static ImageFineTuningTrainer FineTuneImageClassifier(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ImageFineTuningOptions options)
        => new(options ?? throw new ArgumentNullException(nameof(options)), MlNetContext.EnvironmentOf(catalog));

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
