using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Training;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Batching;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Bench;

/// <summary>
/// The lesson's fine_tune on a folder of Oxford-style photos through the ML.NET pipeline, with the
/// numbers bench/README.md records: the epoch table and final error rate, training images/s (frozen and
/// unfrozen epochs), validation images/s, optional lr_find time, peak memory and live tensors per epoch.
/// </summary>
internal static class PetsFineTuneBenchmark
{
    public const string Help = "fine_tune on a photo folder: --data DIR [--plan] [--epochs 2] [--freeze-epochs 1] [--bs 32] [--size 224] [--presize 460] [--seed 0] [--split-seed 42] [--lr 2e-3] [--lr-find] [--threads 2] [--channels-last true] [--precision fp32|bf16-mixed|auto] [--bn fp32|native] [--train-list FILE] [--cache-mb 512] [--tta] [--mixup A] [--cutmix A] [--label-smoothing E] [--progressive SIZE] [--keep-best] [--early-stopping PATIENCE] [--grad-accum ITEMS] [--replay-dump DIR] [--out-json F]";

    public static int Run(string[] args)
    {
        var a = new BenchArgs(args, "lr-find", "tta", "keep-best", "plan");
        var data = a.String("data") ?? throw new ArgumentException("--data DIR is required");
        int size = a.Int("size", 224), bs = a.Int("bs", 32), epochs = a.Int("epochs", 2), freeze = a.Int("freeze-epochs", 1);
        int presize = a.Int("presize", size == 224 ? 460 : (int)Math.Round(size * 460.0 / 224));
        torch.set_num_threads(a.Int("threads", 2));

        var ml = new MLContext(seed: 0);
        // --train-list: the files named there train, every other file validates (bench/fewshot_cut.py writes one);
        // otherwise the lesson's seeded 20% split.
        var trainList = a.String("train-list");
        var files = trainList is null ? ml.Data.LoadImageFiles(data) : ExplicitSplit.Load(ml, data, trainList);
        var labels = ml.Transforms.LabelFromFileName(pattern: a.String("label-regex", @"(.+)_\d+\.\w+$")!);
        var split = trainList is null ? labels.Append(ml.Transforms.RandomSplit(validPct: 0.2, seed: a.Int("split-seed", 42))) : (IEstimator<ITransformer>)labels;
        var dataPipeline = split
            .Append(ml.Transforms.Presize(new PresizeOptions { Size = presize }))
            .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = size }));
        var prepared = dataPipeline.Fit(files);
        var transformed = prepared.Transform(files);

        var epochTimes = new List<(double Seconds, int Images, bool Frozen)>();
        var liveTensors = new List<long>();
        var rss = new List<long>();
        var options = new ImageFineTuningOptions
        {
            Seed = a.Int("seed", 0),
            Log = line => Console.Error.WriteLine(line),
            Compute =
            {
                Device = "cpu", // the learner is driven below
                ChannelsLast = a.String("channels-last", "true") == "true",
                Precision = PrecisionResolver.Parse(a.String("precision", "fp32")!),
                Bf16BatchNorm = a.String("bn", "fp32") == "native" ? Bf16BatchNorm.Native : Bf16BatchNorm.Fp32Compute,
                DecodedCacheBytes = a.String("cache-mb") is { } mb ? long.Parse(mb) << 20 : ComputeOptions.Defaults.DecodedCacheBytes,
            },
            Tricks =
            {
                MixUp = a.Double("mixup", 0), CutMix = a.Double("cutmix", 0), LabelSmoothing = a.Double("label-smoothing", 0),
                ProgressiveResizing = a.Int("progressive", 0), KeepBestEpoch = a.Flag("keep-best"),
                EarlyStoppingPatience = a.Int("early-stopping", 0), GradientAccumulationItems = a.Int("grad-accum", 0),
            },
        };
        // --plan: batch, epochs, frozen epochs and learning rate left unset, as a user who sets nothing (the training plan decides).
        bool planned = a.Flag("plan");
        if (!planned)
        {
            options.Epochs = Math.Max(1, epochs); options.FreezeEpochs = freeze; options.BatchSize = bs;
            options.BaseLearningRate = a.Flag("lr-find") ? null : a.Double("lr", 2e-3);
        }
        var trainer = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(options);
        var total = Stopwatch.StartNew();
        double lrFindSeconds = 0;
        using var session = trainer.CreateSession(transformed);
        var learner = session.Learner;
        if (planned) (bs, epochs, freeze) = (session.Plan.BatchSize, session.Plan.Epochs, session.Plan.FreezeEpochs);
        var probe = new EpochProbe(epochTimes, liveTensors, rss);
        learner.AddCallback(probe);
        double baseLr = planned ? session.Plan.BaseLearningRate ?? 0 : options.BaseLearningRate ?? 0;
        if (!planned && options.BaseLearningRate is null)
        {
            var watch = Stopwatch.StartNew();
            var found = learner.LrFind();
            lrFindSeconds = watch.Elapsed.TotalSeconds;
            baseLr = found.Valley;
            Console.Error.WriteLine($"lr_find {lrFindSeconds:F1} s: valley {found.Valley:0.###e+0}, minimum {found.Minimum:0.###e+0}");
            epochTimes.Clear(); liveTensors.Clear(); rss.Clear();
        }
        // --replay-dump: every random number of the run as the tensors it became, for bench/replay_check.py (issue 28).
        if (a.String("replay-dump") is { } replayFolder) learner.AddCallback(new ReplayDump(replayFolder));
        if (epochs + freeze > 0)
        {
            learner.FineTune(epochs, baseLr, freeze);
            Console.Error.WriteLine(learner.Recorder.FormatTable());
        }
        total.Stop();

        // fastai's learn.tta() on the validation set, timed against one plain validation pass.
        double? ttaError = null, ttaLoss = null, ttaSeconds = null, plainSeconds = null;
        if (a.Flag("tta") && learner.Valid is ImageBatchSource valid)
        {
            var watch = Stopwatch.StartNew();
            using (var plain = learner.GetPreds()) plainSeconds = watch.Elapsed.TotalSeconds;
            watch.Restart();
            using var tta = learner.Tta(valid.WithTrainingAugmentation());
            ttaSeconds = watch.Elapsed.TotalSeconds;
            ttaError = 1 - tta.Accuracy();
            ttaLoss = tta.Losses.mean().item<float>();
            Console.Error.WriteLine($"tta: error {ttaError:F4}, valid loss {ttaLoss:F4}, {ttaSeconds:F1} s (one plain pass {plainSeconds:F1} s)");
        }

        // The calibration a model of this run would get (the temperature fitted on the validation photos), for issue 25.
        object? calibration = null;
        if (learner.Valid is not null && epochs + freeze > 0)
        {
            using var preds = learner.GetPreds();
            using var logProbabilities = preds.Probabilities.clamp_min(1e-30).log();
            int rows = (int)logProbabilities.shape[0], classes = (int)logProbabilities.shape[1];
            var flat = logProbabilities.data<float>().ToArray();
            var logits = Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * classes, classes).ToArray()).ToList();
            calibration = CalibrationReport.Measure(logits, preds.Targets.data<long>().Select(t => (int)t).ToArray());
        }

        var frozen = epochTimes.Where(e => e.Frozen).ToList();
        var unfrozen = epochTimes.Where(e => !e.Frozen).ToList();
        var result = new
        {
            data, plan = planned, size, presize, bs, epochs, freeze_epochs = freeze, seed = options.Seed, base_lr = baseLr,
            channels_last = options.Compute.ChannelsLast,
            precision = PrecisionResolver.ToDisplayName(learner.Precision),
            bf16_batch_norm = options.Compute.Bf16BatchNorm.ToString(),
            train_images = learner.Train.ItemCount, valid_images = learner.Valid?.ItemCount ?? 0,
            // With --keep-best the model ends on the kept epoch, so that row is the final one.
            final_error_rate = FinalRow(learner)?.ErrorRate,
            final_valid_loss = FinalRow(learner)?.ValidLoss,
            final_epoch = FinalRow(learner) is { } final ? learner.History.ToList().IndexOf(final) : (int?)null,
            error_rates = learner.History.Select(h => h.ErrorRate).ToArray(),
            valid_losses = learner.History.Select(h => h.ValidLoss).ToArray(),
            cache_mb = options.Compute.DecodedCacheBytes >> 20, mixup = options.Tricks.MixUp, cutmix = options.Tricks.CutMix, label_smoothing = options.Tricks.LabelSmoothing, train_list = trainList,
            progressive = options.Tricks.ProgressiveResizing, keep_best = options.Tricks.KeepBestEpoch, early_stopping = options.Tricks.EarlyStoppingPatience,
            grad_accum = options.Tricks.GradientAccumulationItems,
            calibration, tta_error_rate = ttaError, tta_valid_loss = ttaLoss, tta_seconds = ttaSeconds, plain_valid_seconds = plainSeconds,
            frozen_train_images_per_s = frozen.Count == 0 ? 0 : frozen.Sum(e => e.Images) / frozen.Sum(e => e.Seconds),
            unfrozen_train_images_per_s = unfrozen.Count == 0 ? 0 : unfrozen.Sum(e => e.Images) / unfrozen.Sum(e => e.Seconds),
            valid_images_per_s = probe.ValidImagesPerSecond,
            lr_find_seconds = lrFindSeconds,
            lr_find_valley = options.BaseLearningRate is null ? baseLr : (double?)null,
            total_seconds = total.Elapsed.TotalSeconds,
            live_tensors_per_epoch = liveTensors,
            rss_mb_per_epoch = rss.Select(r => r / (1 << 20)).ToArray(),
            peak_rss_mb = Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20),
        };
        var json = JsonSerializer.Serialize(result);
        if (a.String("out-json") is { } path) File.WriteAllText(path, json);
        Console.WriteLine(json);
        session.Model.Dispose();
        return 0;
    }

    /// <summary>
    /// The epoch the model ended on: with keep-best, the row it kept in the last fit (it marks one in every fit, so the
    /// last marked row is the last fit's), else the last epoch.
    /// </summary>
    static EpochRecord? FinalRow(Learner learner) => learner.History.LastOrDefault(h => h.Kept) ?? learner.History.LastOrDefault();

    /// <summary>Times the training and validation phases of each epoch and samples memory at each epoch end.</summary>
    sealed class EpochProbe(List<(double Seconds, int Images, bool Frozen)> epochs, List<long> liveTensors, List<long> rss) : ILearnerCallback
    {
        readonly Stopwatch _train = new(), _valid = new();
        int _validImages;
        double _validSeconds;

        public int Order => 80;

        public void BeforeTrain(TrainingContext context) => _train.Restart();

        public void AfterTrain(TrainingContext context)
        {
            _train.Stop();
            bool frozen = context.Learner.ParameterGroups[0].Parameters.Any(p => !p.Parameter.requires_grad);
            epochs.Add((_train.Elapsed.TotalSeconds, context.Learner.Train.ItemCount, frozen));
        }

        public void BeforeValidate(TrainingContext context) => _valid.Restart();

        public void AfterValidate(TrainingContext context)
        {
            _valid.Stop();
            _validSeconds += _valid.Elapsed.TotalSeconds;
            _validImages += context.Learner.Valid?.ItemCount ?? 0;
        }

        public void AfterEpoch(TrainingContext context)
        {
            GC.Collect();
            liveTensors.Add(torch.Tensor.TotalCount);
            rss.Add(Process.GetCurrentProcess().WorkingSet64);
        }

        public double ValidImagesPerSecond => _validSeconds == 0 ? 0 : _validImages / _validSeconds;
    }
}
