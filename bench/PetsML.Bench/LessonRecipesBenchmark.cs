using Microsoft.ML;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Scheduling;
using PetsML.Trainers.Training;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// The lesson's three training recipes, each a Recipe of the ML.NET trainer (fastbook ch. 5):
/// 1 <c>fine_tune(2)</c>; 2 <c>fit_one_cycle(3, 3e-3); unfreeze(); fit_one_cycle(6, lr_max=1e-5)</c>;
/// 3 <c>fit_one_cycle(3, 3e-3); unfreeze(); fit_one_cycle(12, lr_max=slice(1e-6, 1e-4))</c>.
/// Prints each recipe's epoch tables.
/// </summary>
internal static class LessonRecipesBenchmark
{
    public const string Help = "the lesson's three recipes: --data DIR [--recipes 1,2,3] [--size 224] [--presize 460] [--bs 32] [--seed 0]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args);
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        int size = a.Int("size", 224), bs = a.Int("bs", 32);
        int presize = a.Int("presize", size == 224 ? 460 : (int)Math.Round(size * 460.0 / 224));
        torch.set_num_threads(a.Int("threads", 2));
        var recipes = new Dictionary<string, (string Fastai, Action<Learner> Recipe)>
        {
            ["1"] = ("fine_tune(2)", learner => learner.FineTune(2)),
            ["2"] = ("fit_one_cycle(3, 3e-3); unfreeze(); fit_one_cycle(6, lr_max=1e-5)",
                learner => { learner.FitOneCycle(3, 3e-3); learner.Unfreeze(); learner.FitOneCycle(6, 1e-5); }),
            ["3"] = ("fit_one_cycle(3, 3e-3); unfreeze(); fit_one_cycle(12, lr_max=slice(1e-6, 1e-4))",
                learner => { learner.FitOneCycle(3, 3e-3); learner.Unfreeze(); learner.FitOneCycle(12, LearningRate.Slice(1e-6, 1e-4)); }),
        };

        var ml = new MLContext(seed: 0);
        var files = ml.Data.LoadImageFiles(data);
        var pipeline = ml.Transforms.LabelFromFileName(pattern: @"(.+)_\d+\.\w+$")
            .Append(ml.Transforms.RandomSplit(validPct: 0.2, seed: 42))
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = presize }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = size }));
        foreach (var key in a.String("recipes", "1,2,3")!.Split(','))
        {
            var (fastai, recipe) = recipes[key];
            Console.WriteLine($"## Recipe {key}: {fastai} (size {size}, batch {bs}, seed {a.Int("seed", 0)})");
            var trainer = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
            {
                Recipe = recipe, BatchSize = bs, Seed = a.Int("seed", 0), Compute = { Device = "cpu" }, Log = Console.WriteLine,
            });
            using var model = (ImageClassifierTransformer)pipeline.Append(trainer).Fit(files).LastTransformer;
            Console.WriteLine($"final error_rate {model.History!.Epochs[^1].ErrorRate:0.000000}");
            Console.WriteLine();
        }
        return 0;
    }
}
