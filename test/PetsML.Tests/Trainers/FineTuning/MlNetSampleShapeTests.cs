using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The trainer as a drop-in for ML.NET's ImageClassification trainer: the shape of Microsoft's
/// DeepLearning_ImageClassification_Training sample (rows of path + label, ShuffleRows, MapValueToKey,
/// LoadRawImageBytes, TrainTestSplit, the trainer with a validation set, MapKeyToValue, Evaluate, Save, then a
/// fresh process predicting from in-memory bytes), on images made here. The only PetsML line is the trainer.
/// </summary>
[TestClass]
public sealed class MlNetSampleShapeTests
{
    const int PerClass = 16;

    public sealed class ImageData
    {
        public string ImagePath { get; set; } = "";
        public string Label { get; set; } = "";
    }

    public sealed class InMemoryImageData
    {
        public byte[] Image { get; set; } = Array.Empty<byte>();
    }

    public sealed class ImagePrediction
    {
        public float[] Score { get; set; } = Array.Empty<float>();
        public string PredictedLabel { get; set; } = "";
    }

    /// <summary>
    /// The lesson's defaults (presize 460, 224-pixel crops, batches of 64, fine_tune(2)) are sized for photos; the test
    /// keeps only the sizes and the batch small so it runs in seconds. Everything else is the default.
    /// </summary>
    static ImageFineTuningOptions Small(ImageFineTuningOptions o)
    {
        o.Presize = new PresizeOptions { Size = 48 };
        o.Augment = new AugmentOptions { Size = 32 };
        o.BatchSize = 8;
        o.Compute.Device = "cpu";
        return o;
    }

    static IEnumerable<ImageData> ImagesIn(string folder)
        => Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(path => new ImageData
        {
            ImagePath = Path.GetFileName(path),
            Label = TestImages.ShapeClasses.Single(c => Path.GetFileName(path).StartsWith(c + "_", StringComparison.Ordinal)),
        });

    [TestMethod]
    [DataRow(false, DisplayName = "as the sample")]
    [DataRow(true, DisplayName = "with a cache checkpoint before the trainer")]
    public void Microsoft_sample_shape_trains_evaluates_saves_and_a_fresh_process_predicts_from_bytes(bool cache)
    {
        using var folder = new TempFolder("petsml-sample");
        var imagesFolder = folder.Combine("images");
        var paths = TestImages.WriteShapeDataset(imagesFolder, PerClass, width: 64, height: 56);

        var mlContext = new MLContext(seed: 1);
        IDataView images = mlContext.Data.LoadFromEnumerable(ImagesIn(imagesFolder));
        IDataView shuffled = mlContext.Data.ShuffleRows(images);
        IEstimator<ITransformer> preprocessing = mlContext.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Append(mlContext.Transforms.LoadRawImageBytes("Image", imagesFolder, "ImagePath"));
        if (cache) preprocessing = preprocessing.AppendCacheCheckpoint(mlContext);
        IDataView prepared = preprocessing.Fit(shuffled).Transform(shuffled);
        var split = mlContext.Data.TrainTestSplit(prepared, testFraction: 0.2);
        IDataView trainDataView = split.TrainSet, testDataView = split.TestSet;

        var pipeline = mlContext.MulticlassClassification.Trainers.FineTuneImageClassifier(Small(new ImageFineTuningOptions
            {
                FeatureColumnName = "Image", LabelColumnName = "LabelAsKey", ValidationData = testDataView,
            }))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel", "PredictedLabel"));
        var trainedModel = pipeline.Fit(trainDataView);

        var predictions = trainedModel.Transform(testDataView);
        var metrics = mlContext.MulticlassClassification.Evaluate(predictions, labelColumnName: "LabelAsKey", predictedLabelColumnName: "PredictedLabel");
        Assert.IsTrue(metrics.MicroAccuracy > 0.66, $"accuracy {metrics.MicroAccuracy} should be well above chance (0.33)");
        var predictedNames = predictions.GetColumn<string>("PredictedLabel").ToArray();
        Assert.IsTrue(predictedNames.All(TestImages.ShapeClasses.Contains), "MapKeyToValue gives class names back");

        var modelPath = folder.Combine("model.zip");
        mlContext.Model.Save(trainedModel, trainDataView.Schema, modelPath);

        var some = paths.Take(2).Concat(paths.Skip(PerClass).Take(2)).Concat(paths.Skip(2 * PerClass).Take(2)).ToArray();
        using var engine = mlContext.Model.CreatePredictionEngine<InMemoryImageData, ImagePrediction>(trainedModel);
        var expected = some.Select(p => engine.Predict(new InMemoryImageData { Image = File.ReadAllBytes(p) })).ToArray();
        var probe = FreshProcess.PredictFromBytes(modelPath, some);
        for (int i = 0; i < some.Length; i++)
        {
            CollectionAssert.AreEqual(expected[i].Score, probe["Score"][i].EnumerateArray().Select(e => e.GetSingle()).ToArray(), $"scores of {some[i]}");
            Assert.AreEqual(expected[i].PredictedLabel, probe["PredictedLabel"][i].GetString(), $"prediction for {some[i]}");
        }
        Assert.IsTrue(expected.Count(p => Path.GetFileName(some[Array.IndexOf(expected, p)]).StartsWith(p.PredictedLabel + "_", StringComparison.Ordinal)) >= 4,
            "most of the six images are predicted right");
    }

    [TestMethod]
    public void The_fastai_pipeline_works_with_an_in_place_Presize_and_a_cache_checkpoint_before_the_trainer()
    {
        using var folder = new TempFolder("petsml-inplace");
        TestImages.WriteShapeDataset(folder.Path, PerClass, width: 64, height: 56);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadImageFiles(folder.Path);
        var log = new List<string>();
        var pipeline = ml.Transforms.LabelFromFileName()
            .Append(ml.Transforms.RandomSplit(validPct: 0.2, seed: 42))
            .Append(ml.Transforms.LoadRawImageBytes("Image", null, "ImagePath"))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = 48 }, outputColumnName: "Image", inputColumnName: "Image"))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }))
            .AppendCacheCheckpoint(ml)
            .Append(ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
            {
                Epochs = 1, BatchSize = 8, Seed = 7, Compute = { Device = "cpu" }, Log = log.Add,
            }));
        var model = pipeline.Fit(data);
        using var classifier = (ImageClassifierTransformer)model.LastTransformer;
        Assert.AreEqual("Features", classifier.FeatureColumnName, "the model reads AugmentImages' column, as trained");
        Assert.IsTrue(classifier.History!.Epochs[^1].ErrorRate < 0.34, $"error {classifier.History.Epochs[^1].ErrorRate} should be well below chance");
        Assert.IsTrue(log.Any(l => l.Contains("39 training and 9 validation", StringComparison.Ordinal)), string.Join("\n", log));
        var metrics = ml.MulticlassClassification.Evaluate(ml.Data.ValidationRows(model.Transform(data)));
        Assert.IsTrue(metrics.MicroAccuracy > 0.66, $"accuracy {metrics.MicroAccuracy}");
    }

    [TestMethod]
    public void The_column_overload_hands_its_columns_and_validation_set_to_the_options()
    {
        var ml = new MLContext();
        var validation = ml.Data.LoadFromEnumerable(new[] { new ImageData() });
        var trainer = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(labelColumnName: "LabelAsKey", featureColumnName: "Image",
            scoreColumnName: "S", predictedLabelColumnName: "P", validationSet: validation);
        Assert.AreEqual("LabelAsKey", trainer.Options.LabelColumnName);
        Assert.AreEqual("Image", trainer.Options.FeatureColumnName);
        Assert.AreEqual("S", trainer.Options.ScoreColumnName);
        Assert.AreEqual("P", trainer.Options.PredictedLabelColumnName);
        Assert.AreSame(validation, trainer.Options.ValidationData);
        var defaults = ml.MulticlassClassification.Trainers.FineTuneImageClassifier().Options;
        Assert.AreEqual((460, 224, 0.75), (defaults.Presize.Size, defaults.Augment.Size, defaults.Augment.MinScale), "the lesson's sizes");
        // Batch and schedule are left to the training plan, which gives the lesson's on lesson-sized data.
        Assert.AreEqual((null, null, null), (defaults.BatchSize, defaults.Epochs, defaults.FreezeEpochs));
        var lesson = PetsML.Trainers.FineTuning.TrainingPlan.Decide(455, 3, 114, new PetsML.Trainers.FineTuning.UserChoices());
        Assert.AreEqual((64, 2, 1), (lesson.BatchSize, lesson.Epochs, lesson.FreezeEpochs), "the lesson's batch and fine_tune(2)");
    }
}
