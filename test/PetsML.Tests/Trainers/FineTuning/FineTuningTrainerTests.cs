using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>The trainer inside ML.NET: Fit learns, Evaluate reads its output, Save/Load round-trips it.</summary>
[TestClass]
public sealed class FineTuningTrainerTests
{
    const int PerClass = 16; // 48 images: 39 training, 9 validation

    static TempFolder _folder = null!;
    static MLContext _ml = null!;
    static IDataView _data = null!;
    static ITransformer _model = null!;
    static ImageClassifierTransformer _classifier = null!;
    static readonly List<string> _log = new();

    static IEstimator<ITransformer> DataPipeline(MLContext ml)
        => ml.Transforms.LabelFromFileName()
            .Append(ml.Transforms.RandomSplit(validPct: 0.2, seed: 42))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = 48 }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }));

    [ClassInitialize]
    public static void Train(TestContext _)
    {
        _folder = new TempFolder("petsml-finetune");
        TestImages.WriteShapeDataset(_folder.Combine("images"), PerClass, width: 64, height: 56);
        _ml = new MLContext(seed: 0);
        _data = _ml.Data.LoadImageFiles(_folder.Combine("images"));
        var trainer = _ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            Epochs = 1, FreezeEpochs = 1, BatchSize = 8, Seed = 7, Compute = { Device = "cpu" }, Log = _log.Add,
        });
        _model = DataPipeline(_ml).Append(trainer).Fit(_data);
        _classifier = ((IEnumerable<ITransformer>)_model).OfType<ImageClassifierTransformer>().Single();
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _classifier?.Dispose();
        _folder?.Dispose();
    }

    [TestMethod]
    public void Fine_tuning_learns_well_below_chance_error()
    {
        var epochs = _classifier.History!.Epochs;
        Assert.AreEqual(2, epochs.Count, "one frozen and one unfrozen epoch");
        var last = epochs[^1];
        Assert.IsNotNull(last.ErrorRate);
        Assert.IsTrue(last.ErrorRate < 0.34, $"validation error {last.ErrorRate} should be well below chance (0.67)");
        // Epoch rows, not single smoothed values: the first smoothed value is one batch's loss, too noisy to compare.
        Assert.IsTrue(last.TrainLoss < epochs[0].TrainLoss, "the training loss fell:\n" + _classifier.History.FormatTable());
        Assert.IsTrue(_log.Any(l => l.Contains("train_loss")), "the epoch table header was logged");
    }

    [TestMethod]
    public void The_same_seed_gives_the_same_epoch_table()
    {
        var trainer = _ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            Epochs = 1, FreezeEpochs = 1, BatchSize = 8, Seed = 7, Compute = { Device = "cpu" },
        });
        using var again = (ImageClassifierTransformer)DataPipeline(_ml).Append(trainer).Fit(_data).LastTransformer;
        var first = _classifier.History!.Epochs;
        var second = again.History!.Epochs;
        for (int e = 0; e < first.Count; e++)
        {
            Assert.AreEqual(first[e].TrainLoss, second[e].TrainLoss, $"train_loss of epoch {e}");
            Assert.AreEqual(first[e].ValidLoss, second[e].ValidLoss, $"valid_loss of epoch {e}");
            Assert.AreEqual(first[e].ErrorRate, second[e].ErrorRate, $"error_rate of epoch {e}");
        }
    }

    [TestMethod]
    public void Evaluate_reads_the_scores_and_the_confusion_matrix_sums_to_the_validation_size()
    {
        var validation = _ml.Data.ValidationRows(_model.Transform(_data));
        var metrics = _ml.MulticlassClassification.Evaluate(validation);
        int validCount = (int)(0.2 * 3 * PerClass);
        Assert.AreEqual(validCount, metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()));
        Assert.IsTrue(metrics.MicroAccuracy > 0.66, $"accuracy {metrics.MicroAccuracy}");
        Assert.IsTrue(metrics.LogLoss > 0 && double.IsFinite(metrics.LogLoss));
        var predictedNames = _ml.Transforms.Conversion.MapKeyToValue("Breed", "PredictedLabel").Fit(validation).Transform(validation)
            .GetColumn<string>("Breed").ToArray();
        Assert.IsTrue(predictedNames.All(TestImages.ShapeClasses.Contains), "MapKeyToValue turns predictions back into class names");
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        validation.Schema["Score"].GetSlotNames(ref slotNames);
        CollectionAssert.AreEqual(new[] { "Red_disc", "blue_triangle", "green_square" }, slotNames.DenseValues().Select(s => s.ToString()).ToArray());
    }

    [TestMethod]
    public void Saved_model_predicts_identically_in_a_fresh_process()
    {
        using var folder = new TempFolder();
        var path = folder.Combine("model.zip");
        _ml.Model.SaveAtomically(_model, _data.Schema, path);
        Assert.IsFalse(Directory.GetFiles(folder.Path).Any(f => f.EndsWith(".tmp", StringComparison.Ordinal)), "no temporary file left");

        var paths = _data.GetColumn<string>("ImagePath").Take(5).ToArray();
        var rows = _ml.Data.LoadFromEnumerable(paths.Select(p => new PetsML.ImageFileRow { ImagePath = p }));
        var expected = _model.Transform(rows).GetColumn<float[]>("Score").ToArray();
        var probe = FreshProcess.LoadAndTransform(path, new[] { "Score", "PredictedLabel" }, paths);
        for (int i = 0; i < paths.Length; i++)
            CollectionAssert.AreEqual(expected[i], probe["Score"][i].EnumerateArray().Select(e => e.GetSingle()).ToArray(), $"scores of row {i}");

        var loaded = new MLContext().RegisterPetsML().Model.Load(path, out _);
        var engine = new MLContext().Model.CreatePredictionEngine<PetsML.ImageFileRow, ScoreRow>(loaded);
        var one = engine.Predict(new PetsML.ImageFileRow { ImagePath = paths[0] });
        // Transform scored the five rows in one batch; the engine scores one image: the same up to float rounding.
        Assert.IsTrue(expected[0].Zip(one.Score, (a, b) => Math.Abs(a - b)).Max() < 1e-5, "the engine's scores are Transform's");
    }

    [TestMethod]
    public void A_lesson_recipe_runs_through_the_Recipe_option_and_learns()
    {
        // The lesson's third recipe, shortened: fit_one_cycle(1, 3e-3); unfreeze(); fit_one_cycle(1, slice(1e-6, 1e-4))...
        // at the lesson's shape but with one epoch per phase to stay fast; here with a livelier slice so it learns in 2 epochs.
        var phases = new List<string>();
        var trainer = _ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
        {
            BatchSize = 8, Seed = 3, Compute = { Device = "cpu" },
            Recipe = learner =>
            {
                phases.Add(learner.ParameterGroups[0].Parameters.All(p => !p.Parameter.requires_grad || learner.ParameterGroups[0].IsNorm(p.Name)) ? "frozen" : "unfrozen");
                learner.FitOneCycle(1, 3e-3);
                learner.Unfreeze();
                phases.Add("unfrozen");
                learner.FitOneCycle(1, PetsML.LearningRate.Slice(1e-5, 1e-3));
            },
        });
        using var model = (ImageClassifierTransformer)DataPipeline(_ml).Append(trainer).Fit(_data).LastTransformer;
        CollectionAssert.AreEqual(new[] { "frozen", "unfrozen" }, phases, "the learner starts frozen, as vision_learner's does");
        Assert.IsTrue(model.History!.Epochs[^1].ErrorRate < 0.34, $"error {model.History.Epochs[^1].ErrorRate} should be well below chance");
    }

    [TestMethod]
    public void A_single_class_is_refused_with_a_clear_message()
    {
        using var folder = new TempFolder();
        var images = TestImages.WriteShapeDataset(folder.Path, perClass: 3, width: 40, height: 30);
        foreach (var path in images.Where(p => !Path.GetFileName(p).StartsWith("Red_disc", StringComparison.Ordinal)))
            File.Delete(path);
        var data = _ml.Data.LoadImageFiles(folder.Path);
        var trainer = _ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions { BatchSize = 2, Compute = { Device = "cpu" } });
        var e = Assert.ThrowsExactly<InvalidDataException>(() => DataPipeline(_ml).Append(trainer).Fit(data));
        StringAssert.Contains(e.Message, "Label");
        StringAssert.Contains(e.Message, "at least 2");
    }

    [TestMethod]
    public void A_pipeline_without_presize_and_augmentation_is_refused_with_a_clear_message()
    {
        var ml = new MLContext();
        var trainer = ml.MulticlassClassification.Trainers.FineTuneImageClassifier();
        var features = ml.Data.LoadFromEnumerable(new[] { new FeatureRow() });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(features));
        StringAssert.Contains(e.Message, "AugmentImages");
    }

    public sealed class ScoreRow
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    sealed class FeatureRow
    {
        [VectorType(3 * 8 * 8)] public float[] Features { get; set; } = new float[3 * 8 * 8];
        [KeyType(2)] public uint Label { get; set; }
    }
}
