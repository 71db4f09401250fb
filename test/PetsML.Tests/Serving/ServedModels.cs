using Microsoft.ML;
using PetsML.Tests.Support;

namespace PetsML.Tests.Serving;

/// <summary>
/// Two tiny models trained once for the serving tests, with the fastai pipeline `petsml train` saves (paths in, labels from
/// file names, a seeded split, presize, augment, the classifier): different seeds, so their probabilities differ.
/// </summary>
internal sealed class ServedModels : IDisposable
{
    public ServedModels(bool both = true)
    {
        Folder = new TempFolder("petsml-serving");
        Images = TestImages.WriteShapeDataset(Folder.Combine("images"), perClass: 12, width: 64, height: 56);
        ModelA = Folder.Combine("model-a.zip");
        ModelB = Folder.Combine("model-b.zip");
        ErrorRateA = Train(seed: 1, ModelA);
        if (both) Train(seed: 2, ModelB);
    }

    public TempFolder Folder { get; }
    public IReadOnlyList<string> Images { get; }
    public string ModelA { get; }
    /// <summary>Trained only when the constructor was asked for both.</summary>
    public string ModelB { get; }

    /// <summary>Model A's validation error after its epoch.</summary>
    public double ErrorRateA { get; }

    double Train(int seed, string path)
    {
        var ml = new MLContext(seed: seed);
        var files = ml.Data.LoadImageFiles(Folder.Combine("images"));
        var pipeline = ml.Transforms.LabelFromFileName()
            .Append(ml.Transforms.RandomSplit(validPct: 0.25, seed: 42))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = 48 }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }))
            .Append(ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
            {
                Epochs = 2, BatchSize = 8, Seed = seed, Compute = { Device = "cpu" },
            }));
        var model = pipeline.Fit(files);
        ml.Model.SaveAtomically(model, files.Schema, path);
        var classifier = (ImageClassifierTransformer)model.LastTransformer;
        double error = classifier.History!.Epochs[^1].ErrorRate ?? 1;
        model.Dispose();
        return error;
    }

    /// <summary>A copy of <paramref name="model"/> under a new name in the folder (a predictor watches its own file).</summary>
    public string CopyOf(string model)
    {
        var path = Folder.Combine($"served-{Guid.NewGuid():N}", "model.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(model, path);
        return path;
    }

    public void Dispose() => Folder.Dispose();
}
