using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Modeling;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>Test-time augmentation on a saved and loaded model: fastai's tta, exactly, from seeded copies.</summary>
[TestClass]
public sealed class TtaTransformTests
{
    static readonly PresizeOptions Presize = new() { Size = 48 };
    static readonly AugmentOptions Augment = new() { Size = 32 };

    /// <summary>
    /// A model .zip as the host writes it (label, split, Presize, AugmentImages, classifier: "normalized"), or with the
    /// classifier reading the image paths itself ("raw"); the classifier has ImageNet body weights and a seeded head.
    /// </summary>
    internal static string SaveModel(MLContext ml, IDataView files, string kind, string path)
    {
        var labels = ml.Transforms.LabelFromFileName().Append(ml.Transforms.RandomSplit(validPct: 0.5, seed: 42));
        var network = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, 3, seed: 5, pretrained: true);
        ITransformer model;
        if (kind == "normalized")
        {
            var data = labels.Append(ml.Transforms.Presize(Presize)).Append(ml.Transforms.AugmentImages(Augment)).Fit(files);
            model = data.Append(new ImageClassifierTransformer(network, ResNetArchitecture.ResNet18Packaged, TestImages.ShapeClasses, PetsColumnNames.Features,
                Augment.Size, "cpu", history: null));
        }
        else
        {
            var presize = new PresizeTransformer("ImagePath.Presized", PetsColumnNames.ImagePath, Presize, new ImageDecodeOptions());
            model = labels.Fit(files).Append(new ImageClassifierTransformer(network, ResNetArchitecture.ResNet18Packaged, TestImages.ShapeClasses,
                PetsColumnNames.ImagePath, Augment.Size, "cpu", history: null, ownsModel: true, ClassifierInputKind.Raw, presize, Augment));
        }
        ml.Model.SaveAtomically(model, files.Schema, path);
        ((IDisposable)((IEnumerable<ITransformer>)model).Last()).Dispose();
        return path;
    }

    static float[][] Scores(IDataView scored) => scored.GetColumn<float[]>("Score").ToArray();

    [TestMethod]
    [DataRow("normalized")]
    [DataRow("raw")]
    public void Tta_on_a_loaded_model_is_the_lerp_of_the_augmented_copies_mean_and_the_plain_probabilities(string kind)
    {
        using var folder = new TempFolder("petsml-tta-model");
        var ml = new MLContext(seed: 0);
        TestImages.WriteShapeDataset(folder.Combine("images"), perClass: 4, width: 64, height: 56);
        var files = ml.Data.LoadImageFiles(folder.Combine("images"));
        var loaded = ml.RegisterPetsML().Model.Load(SaveModel(ml, files, kind, folder.Combine("model.zip")), out _);
        var steps = ((IEnumerable<ITransformer>)loaded).ToList();
        using var classifier = (ImageClassifierTransformer)steps[^1];
        classifier.InferenceBatchSize = 4; // 6 validation rows: a full batch and a partial one
        var beforeClassifier = ml.Data.ValidationRows(new TransformerChain<ITransformer>(steps.Take(steps.Count - 1).ToArray()).Transform(files));

        var tta = Scores(classifier.TransformWithTta(beforeClassifier, n: 4, beta: 0.25, seed: 11));
        var plain = Scores(ml.Data.ValidationRows(loaded.Transform(files)));

        // The same seeded copies, made here: the validation rows' images through the training path, epoch i = copy i.
        var (presize, augment) = kind == "normalized"
            ? (UpstreamImageSteps.Find(beforeClassifier, PetsColumnNames.Features)!.Presize, UpstreamImageSteps.Find(beforeClassifier, PetsColumnNames.Features)!.Augment!)
            : (new PresizeTransformer("ImagePath.Presized", PetsColumnNames.ImagePath, Presize, new ImageDecodeOptions()), Augment);
        var items = beforeClassifier.GetColumn<string>(PetsColumnNames.ImagePath).Select(p => new LabeledImage(ImageSource.FromFile(p), 0)).ToList();
        using var augmenter = new BatchAugmenter(augment);
        var copies = new ImageBatchSource(items, presize, augmenter, training: false, new BatchSourceOptions { BatchSize = 4, Seed = 11, Device = CPU })
            .WithTrainingAugmentation();
        var augmented = Enumerable.Range(0, 4).Select(i => copies.GetBatches(i).SelectMany(b => { using (b) return classifier.PredictProbabilities(b.Images); }).ToArray()).ToArray();

        Assert.AreEqual(6, tta.Length);
        for (int r = 0; r < tta.Length; r++)
            for (int k = 0; k < 3; k++)
            {
                double mean = augmented.Average(copy => (double)copy[r][k]);
                double expected = mean + 0.25 * (plain[r][k] - mean); // torch.lerp(mean, plain, 0.25)
                Assert.AreEqual(expected, tta[r][k], 1e-5, $"row {r}, class {k}");
            }
        Assert.IsTrue(tta.Zip(plain).Any(p => p.First.Zip(p.Second).Any(x => Math.Abs(x.First - x.Second) > 1e-3)), "the augmented copies moved the scores");
        Assert.IsTrue(augmented[0].Zip(augmented[1]).Any(p => p.First.Zip(p.Second).Any(x => Math.Abs(x.First - x.Second) > 1e-4)), "each copy is augmented anew");

        var again = classifier.TransformWithTta(beforeClassifier, seed: 11);
        CollectionAssert.AreEqual(tta.SelectMany(r => r).ToArray(), Scores(again).SelectMany(r => r).ToArray(),
            "the same seed gives the same scores (n 4 and beta 0.25 are the defaults)");
        CollectionAssert.AreNotEqual(Scores(classifier.TransformWithTta(beforeClassifier, n: 1, seed: 11)).SelectMany(r => r).ToArray(),
            Scores(classifier.TransformWithTta(beforeClassifier, n: 1, seed: 12)).SelectMany(r => r).ToArray(), "another seed draws other copies");
        // ML.NET's evaluator reads the TTA view like Transform's.
        var metrics = ml.MulticlassClassification.Evaluate(again);
        Assert.AreEqual(6, metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
    }
}
