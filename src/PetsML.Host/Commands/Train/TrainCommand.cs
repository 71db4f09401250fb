using System.ComponentModel;
using System.Globalization;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.LrFinding;
using PetsML.Trainers.Training;
using PetsML.Host.Visualization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Train;

/// <summary>
/// <c>petsml train</c>: the lesson's <c>vision_learner(dls, resnet18, metrics=error_rate).fine_tune(2)</c>.
/// Prints the epoch table, writes the model .zip (the whole pipeline: label, split, presize, augment,
/// classifier), the batch picture and, with --report, an HTML report.
/// </summary>
public sealed class TrainCommand(HostConsole console) : Command<TrainCommand.Settings>
{
    public sealed class Settings : DataSettings
    {
        [CommandOption("--epochs <N>")]
        [Description("Epochs with the whole network unfrozen (fine_tune's epochs). Default: the training plan's for --data (2 from about 450 training photos, up to 8 on small sets); 2 on the demo photos, 1 on the drawn demo set.")]
        public int? Epochs { get; set; }

        [CommandOption("--freeze-epochs <N>")]
        [Description("Epochs training only the head first. Default 1 (the training plan's).")]
        public int? FreezeEpochs { get; set; }

        [CommandOption("--lr <RATE>")]
        [Description("Base learning rate (fine_tune's base_lr), e.g. 2e-3, or 'find' to run the learning-rate finder and use its valley. Default 2e-3 (the training plan's).")]
        public string? Lr { get; set; }

        [CommandOption("--time-budget <TIME>")]
        [Description("Fit the training into this time, e.g. 90s, 10m, 1h: a timed probe estimates an epoch and only the epochs that fit are trained (the log says so). Default: no limit.")]
        public string? TimeBudget { get; set; }

        [CommandOption("-o|--out <FILE>")]
        [Description("The model .zip to write.")]
        [DefaultValue("model.zip")]
        public string Out { get; set; } = "model.zip";

        [CommandOption("--batch-png <FILE>")]
        [Description("Where to draw an augmented training batch (show_batch); 'none' to skip. Default: batch.png in the folder of --out.")]
        public string? BatchPng { get; set; }

        [CommandOption("--report <DIR>")]
        [Description("Write index.html and metrics.json (epoch table, metrics, pictures, most confused pairs) to this folder.")]
        public string? Report { get; set; }

        [CommandOption("--resume <CHECKPOINT>")]
        [Description("Continue an interrupted run from its checkpoint (--out + '.checkpoint'): data, model, seeds, sizes, schedule and training tricks come from the checkpoint; the finished epochs are skipped.")]
        public string? Resume { get; set; }

        [CommandOption("--skip-bad-images")]
        [Description("Leave out files that are not images (fastai's verify_images), printing their count and names. Without it such files stop the run before training, named.")]
        public bool SkipBadImages { get; set; }

        /// <summary>The batch picture to write, or null for 'none'.</summary>
        public string? BatchPngPath => BatchPng is null ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Out))!, "batch.png")
            : BatchPng.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : BatchPng;

        [CommandOption("--label-smoothing <EPS>")]
        [Description("Label smoothing ε (fastai's LabelSmoothingCrossEntropy, 0.1 in the book); 0 for plain cross-entropy.")]
        [DefaultValue(0.0)]
        public double LabelSmoothing { get; set; }

        [CommandOption("--mixup <ALPHA>")]
        [Description("Train with MixUp of this α (fastai's MixUp(0.4)); 0 for none.")]
        [DefaultValue(0.0)]
        public double MixUp { get; set; }

        [CommandOption("--cutmix <ALPHA>")]
        [Description("Train with CutMix of this α (fastai's CutMix(1.0)); 0 for none.")]
        [DefaultValue(0.0)]
        public double CutMix { get; set; }

        [CommandOption("--keep-best")]
        [Description("End each fit on its epoch of lowest valid loss (fastai's SaveModelCallback); the table marks it '(kept)'.")]
        public bool KeepBest { get; set; }

        [CommandOption("--early-stopping <PATIENCE>")]
        [Description("End a fit after this many epochs without a lower valid loss (fastai's EarlyStoppingCallback); 0 for never.")]
        [DefaultValue(0)]
        public int EarlyStopping { get; set; }

        [CommandOption("--grad-accum <ITEMS>")]
        [Description("Step the optimizer once every ITEMS training images (fastai's GradientAccumulation); 0 steps every batch.")]
        [DefaultValue(0)]
        public int GradAccum { get; set; }

        [CommandOption("--cache-mb <MB>")]
        [Description("Keep up to MB megabytes of decoded photos in memory between epochs (faster later epochs, more memory); 0 decodes every epoch, as fastai does.")]
        [DefaultValue(0)]
        public int CacheMb { get; set; }

        [CommandOption("--progressive <SIZE>")]
        [Description("Progressive resizing (fastbook ch. 7): the frozen epochs train and validate at SIZE px (e.g. 128), the rest at --size; 0 for off.")]
        [DefaultValue(0)]
        public int Progressive { get; set; }

        /// <summary>The epochs given, or the demo's; null: the training plan's.</summary>
        public int? EpochsOrDefault => Epochs ?? DemoSchedule?.Epochs;

        /// <summary>The frozen epochs given, or the demo's; null: the training plan's.</summary>
        public int? FreezeEpochsOrDefault => FreezeEpochs ?? DemoSchedule?.FreezeEpochs;

        /// <summary>The base learning rate, or null for "find" (only when <see cref="Lr"/> is set).</summary>
        public double? BaseLearningRate => Lr is null || Lr.Equals("find", StringComparison.OrdinalIgnoreCase) ? null
            : double.Parse(Lr, NumberStyles.Float, CultureInfo.InvariantCulture);

        /// <summary>--time-budget as a time span, or null without one.</summary>
        public TimeSpan? TimeBudgetSpan => TimeBudget is null ? null : ParseTimeBudget(TimeBudget);

        /// <summary>"90s", "10m", "1.5h" or "1h30m" (and a plain number of seconds); null when it is none of these or not positive.</summary>
        public static TimeSpan? ParseTimeBudget(string text)
        {
            var match = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$");
            if (!match.Success || text.Trim().Length == 0) return null;
            double Part(int group) => match.Groups[group].Success ? double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
            double seconds = Part(1) * 3600 + Part(2) * 60 + Part(3);
            return seconds > 0 && seconds <= TimeSpan.FromDays(30).TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;
        }

        public override ValidationResult Validate()
        {
            if (Epochs is < 1 or > 1000) return ValidationResult.Error($"--epochs must be between 1 and 1000; got {Epochs}.");
            if (FreezeEpochs is < 0 or > 1000) return ValidationResult.Error($"--freeze-epochs must be between 0 and 1000; got {FreezeEpochs}.");
            if (Lr is not null && !Lr.Equals("find", StringComparison.OrdinalIgnoreCase)
                && !(double.TryParse(Lr, NumberStyles.Float, CultureInfo.InvariantCulture, out var lr) && lr > 0 && lr < 10))
                return ValidationResult.Error($"--lr must be a number in (0, 10) such as 2e-3, or 'find'; got '{Lr}'.");
            if (TimeBudget is not null && ParseTimeBudget(TimeBudget) is null)
                return ValidationResult.Error($"--time-budget takes a positive time such as 90s, 10m, 1h or 1h30m (at most 30 days); got '{TimeBudget}'.");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out must name a file.");
            if (Resume is not null && string.IsNullOrWhiteSpace(Resume)) return ValidationResult.Error("--resume must name a checkpoint file.");
            if (LabelSmoothing is < 0 or >= 1) return ValidationResult.Error($"--label-smoothing must be in [0, 1); got {LabelSmoothing}.");
            if (MixUp is < 0 or > 100 || CutMix is < 0 or > 100) return ValidationResult.Error("--mixup and --cutmix take an α in [0, 100] (0 is off).");
            if (MixUp > 0 && CutMix > 0) return ValidationResult.Error("--mixup and --cutmix: choose one.");
            if (EarlyStopping < 0) return ValidationResult.Error($"--early-stopping must be ≥ 0; got {EarlyStopping}.");
            if (GradAccum < 0) return ValidationResult.Error($"--grad-accum must be ≥ 0; got {GradAccum}.");
            if (CacheMb is < 0 or > 1 << 20) return ValidationResult.Error($"--cache-mb must be between 0 and 1048576; got {CacheMb}.");
            if (Progressive != 0 && (Progressive < 1 || Progressive >= SizeOrDefault))
                return ValidationResult.Error($"--progressive must be 0 (off) or a size below --size ({SizeOrDefault}); got {Progressive}.");
            if (Progressive != 0 && (FreezeEpochsOrDefault ?? TrainingPlan.DefaultFreezeEpochs) < 1) return ValidationResult.Error("--progressive trains the frozen epochs small: it needs --freeze-epochs ≥ 1.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        // Before any work: an unwritable --out found after an epoch would throw the epoch away.
        OutputFile.EnsureWritable(settings.Out, "--out");
        var checkpointPath = TrainCheckpoint.PathFor(settings.Out);
        foreach (var stale in AtomicFile.RemoveStale(settings.Out).Concat(AtomicFile.RemoveStale(checkpointPath)))
            human.MarkupLineInterpolated($"Removed a temporary file an interrupted earlier run left behind: {stale}");
        TrainingCheckpoint? resume = null;
        if (settings.Resume is { } resumePath)
        {
            // Everything that shapes the run comes from the checkpoint, so the remaining epochs are those of the interrupted run.
            resume = TrainCheckpoint.Load(resumePath);
            TrainCheckpoint.Apply(resume, settings);
            human.MarkupLineInterpolated($"Resuming {resumePath}: {resume.EpochsDone} of {resume.Plan.TotalEpochs} epochs done; data, seeds, sizes, schedule and tricks from the checkpoint.");
        }
        var mlContext = new MLContext(seed: settings.Seed);
        var data = PetsData.Load(mlContext, settings, human);
        if (resume is not null && !resume.ClassNames.SequenceEqual(data.ClassNames))
            throw new BadInputException($"--resume: the checkpoint's classes ({string.Join(", ", resume.ClassNames)}) differ from those found in {data.Folder} ({string.Join(", ", data.ClassNames)}).");
        int frozenLeft = Math.Max(0, (resume?.Plan.FreezeEpochs ?? settings.FreezeEpochsOrDefault ?? TrainingPlan.DefaultFreezeEpochs) - (resume?.EpochsDone ?? 0));
        var display = new TrainingProgressDisplay(console.Error) { FitNames = frozenLeft > 0 ? ["frozen", "unfrozen"] : ["unfrozen"] };
        // The trainer's warnings (a checkpoint that could not be written) go to stderr in yellow, the rest with the human output.
        var options = settings.TrainerOptions(display, line =>
        {
            if (line.StartsWith(WarningPrefix, StringComparison.Ordinal)) console.Warn(line[WarningPrefix.Length..]);
            else human.WriteLine(line);
        }, cancellationToken);
        // Unset on a data folder: the trainer's training plan chooses them (one place decides) and its first log lines say so.
        options.Epochs = settings.EpochsOrDefault;
        options.FreezeEpochs = settings.FreezeEpochsOrDefault;
        if (settings.Lr is not null) options.BaseLearningRate = settings.BaseLearningRate;
        options.MaxTrainingTime = settings.TimeBudgetSpan;
        options.SkipBadImages = settings.SkipBadImages;
        options.Tricks = new TrainingTricksOptions
        {
            LabelSmoothing = settings.LabelSmoothing, MixUp = settings.MixUp, CutMix = settings.CutMix, KeepBestEpoch = settings.KeepBest,
            EarlyStoppingPatience = settings.EarlyStopping, GradientAccumulationItems = settings.GradAccum, ProgressiveResizing = settings.Progressive,
        };
        options.Compute.DecodedCacheBytes = (long)settings.CacheMb << 20;
        options.Callbacks.Add(display);
        string? batchPng = settings.BatchPngPath;
        if (batchPng is not null) options.Callbacks.Add(new BatchPictureCallback(data.Transformed, data.ClassNames, batchPng));
        // Checkpoint and resume are the trainer's: this command only says where, what to store beside the model, and how to go on.
        int savedEpochs = 0;
        options.Checkpointing = new CheckpointOptions
        {
            Path = checkpointPath,
            Settings = TrainCheckpoint.SettingsOf(settings, data.Folder, data.IsDemo),
            ResumeFrom = resume,
            Written = epochs => savedEpochs = epochs,
        };

        var trainer = mlContext.MulticlassClassification.Trainers.FineTuneImageClassifier(options);
        ImageClassifierTransformer classifier;
        ITransformer model;
        try
        {
            classifier = display.Run(() => trainer.Fit(data.Transformed));
            model = data.Model.Append<ITransformer>(classifier);
            mlContext.Model.SaveAtomically(model, data.Raw.Schema, settings.Out);
        }
        catch (Exception e)
        {
            // Ctrl+C, a full disk at the model file, a diverged loss...: once a checkpoint exists, say how to go on from it.
            TellHowToResume(checkpointPath, savedEpochs, resume, settings, e is OperationCanceledException);
            throw;
        }
        if (batchPng is not null) human.MarkupLineInterpolated($"Batch picture: {batchPng}");
        human.MarkupLineInterpolated($"Model: {settings.Out}");
        // The model file now holds everything the checkpoint did (and more); a stale checkpoint would only mislead a later --resume.
        if (File.Exists(checkpointPath)) File.Delete(checkpointPath);

        var history = classifier.History!;
        var lrFind = history.LrFind;
        var plan = classifier.Plan!;
        double baseLr = resume?.Plan.BaseLearningRate ?? plan.BaseLearningRate ?? lrFind!.Valley;
        var last = history.Epochs.Count > 0 ? history.Epochs[^1] : null; // none when resuming a checkpoint taken after the last epoch
        int firstEpoch = resume?.EpochsDone ?? 0; // a resumed run's rows start after the checkpoint's epochs
        var phases = history.Epochs.Select((_, i) => firstEpoch + i < plan.FreezeEpochs ? "frozen" : "unfrozen").ToList();
        if (settings.Report is { } reportFolder)
        {
            var validation = ScoredFolder.Score(mlContext, model, data.Folder, all: false);
            var report = new HtmlReport
            {
                Title = $"PetsML training report ({settings.Arch}, {plan.Epochs} + {plan.FreezeEpochs} frozen epochs, batch {plan.BatchSize})",
                DataFolder = data.Folder, ClassNames = classifier.ClassNames, Epochs = history.Epochs, EpochPhases = phases,
                BaseLearningRate = baseLr, LrFind = lrFind, Validation = validation,
                Calibration = CalibrationReport.From(validation.Interpretation, classifier.Temperature),
            };
            Directory.CreateDirectory(reportFolder);
            if (batchPng is not null)
            {
                File.Copy(batchPng, Path.Combine(reportFolder, "batch.png"), overwrite: true);
                report.Pictures.Add(("batch.png", "An augmented training batch (show_batch)."));
            }
            if (lrFind is not null)
            {
                LrFindPlot.Save(lrFind, Path.Combine(reportFolder, "lr_find.png"));
                report.Pictures.Add(("lr_find.png", "Learning-rate finder: smoothed loss against learning rate, suggestions marked."));
            }
            // The smoothed losses are the last fit's (the unfrozen one), as are the rows drawn with them.
            var lastFit = history.Epochs.Where((_, i) => phases[i] == "unfrozen").ToList();
            LossPlot.Save(history.SmoothedLosses, lastFit, Path.Combine(reportFolder, "loss.png"));
            report.Pictures.Add(("loss.png", "Training loss (smoothed, per batch) and validation loss (per epoch) of the last fit (unfrozen)."));
            InterpretationPictures.Write(mlContext, model, validation, reportFolder, k: 9);
            report.Pictures.Add((InterpretationPictures.ConfusionMatrixFile, "Confusion matrix on the validation images: rows actual, columns predicted."));
            report.Pictures.Add((InterpretationPictures.TopLossesFile, "Top losses: predicted/actual, loss / probability of the prediction; beside each photo its Grad-CAM heat map for the predicted class (red: where the evidence was)."));
            report.Write(reportFolder);
            human.MarkupLineInterpolated($"Report: {Path.Combine(reportFolder, HtmlReport.IndexFile)}");
        }
        if (settings.Json)
        {
            console.WriteJson(new
            {
                command = "train",
                data = data.Folder,
                demo = data.IsDemo,
                classes = classifier.ClassNames,
                model = Path.GetFullPath(settings.Out),
                batchPicture = batchPng is null ? null : Path.GetFullPath(batchPng),
                baseLearningRate = baseLr,
                plan = new { batchSize = plan.BatchSize, epochs = plan.Epochs, freezeEpochs = plan.FreezeEpochs, stepsPerEpoch = plan.StepsPerEpoch, tiny = plan.IsTiny, lines = plan.Describe().ToList() },
                lrFind = lrFind is null ? null : new { valley = lrFind.Valley, minimum = lrFind.Minimum, steep = lrFind.Steep, slide = lrFind.Slide },
                epochs = history.Epochs.Select((e, i) => new
                {
                    epoch = firstEpoch + i, phase = phases[i],
                    trainLoss = e.TrainLoss, validLoss = e.ValidLoss, errorRate = e.ErrorRate, accuracy = e.Accuracy, seconds = e.Elapsed.TotalSeconds,
                }),
                errorRate = last?.ErrorRate,
                skippedImages = history.SkippedImages.Select(b => new { file = b.Name, reason = b.Reason }),
                resumedFrom = settings.Resume is null ? null : Path.GetFullPath(settings.Resume),
                report = settings.Report is null ? null : Path.GetFullPath(Path.Combine(settings.Report, HtmlReport.IndexFile)),
            });
        }
        return ExitCodes.Success;
    }

    /// <summary>The prefix of the trainer's warning lines on its log (ImageFineTuningOptions.Log).</summary>
    const string WarningPrefix = "warning: ";

    /// <summary>Prints the checkpoint a failed or stopped run can continue from, and the command that does it.</summary>
    void TellHowToResume(string checkpointPath, int savedEpochs, TrainingCheckpoint? resume, Settings settings, bool cancelled)
    {
        // This run's newest checkpoint, else the one it resumed from (still on disk: a successful run deletes it only at the end).
        var (kept, epochs) = savedEpochs > 0 ? (checkpointPath, savedEpochs)
            : settings.Resume is { } resumed && resume is not null ? (resumed, resume.EpochsDone) : (null, 0);
        if (kept is not null && File.Exists(kept))
        {
            // The plan (and so the epoch count) was decided inside Fit; the checkpoint holds it.
            int totalEpochs = resume?.Plan.TotalEpochs ?? TrainingCheckpoint.Load(kept).Plan.TotalEpochs;
            console.Warn($"Checkpoint after epoch {epochs} of {totalEpochs}: {kept}");
            // Unwrapped, so the command can be copied whole however long the paths are.
            console.Error.Profile.Out.Writer.WriteLine($"Resume with: {TrainCheckpoint.ResumeCommand(kept, settings)}");
        }
        else if (cancelled)
            console.Warn("No epoch finished, so there is no checkpoint to resume from.");
    }
}
