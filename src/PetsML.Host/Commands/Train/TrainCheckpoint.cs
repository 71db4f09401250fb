using System.Globalization;
using PetsML.Host.Cli;
using PetsML.Trainers.Training;

namespace PetsML.Host.Commands.Train;

/// <summary>
/// How <c>petsml train</c> names, fills and reads its checkpoints: the file is <c>--out</c> + ".checkpoint"; it stores the
/// options that rebuild the data and the model (data folder, label regex, split, seeds, arch, weights, sizes; the trainer
/// adds the training tricks), and <c>--resume</c> puts them back into the settings before anything is built.
/// </summary>
public static class TrainCheckpoint
{
    /// <summary>The checkpoint kept next to the model file.</summary>
    public static string PathFor(string modelPath) => modelPath + ".checkpoint";

    /// <summary>The option values a resumed run needs (invariant culture, full paths).</summary>
    public static IReadOnlyDictionary<string, string> SettingsOf(TrainCommand.Settings settings, string dataFolder, bool isDemo)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["data"] = Path.GetFullPath(dataFolder),
            ["demo"] = isDemo ? "true" : "false",
            ["label-regex"] = settings.LabelRegex,
            ["valid-pct"] = settings.ValidPct.ToString("R", CultureInfo.InvariantCulture),
            ["split-seed"] = settings.SplitSeed.ToString(CultureInfo.InvariantCulture),
            ["seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
            ["arch"] = settings.Arch,
            ["presize"] = settings.PresizeOrDefault.ToString(CultureInfo.InvariantCulture),
            ["size"] = settings.SizeOrDefault.ToString(CultureInfo.InvariantCulture),
            ["progressive"] = settings.Progressive.ToString(CultureInfo.InvariantCulture),
        };
        if (settings.Weights is not null) map["weights"] = Path.GetFullPath(settings.Weights);
        // Unset, the batch is the training plan's, which the trainer stores in the checkpoint itself.
        if ((settings.BatchSize ?? settings.DemoSchedule?.BatchSize) is { } batch) map["batch-size"] = batch.ToString(CultureInfo.InvariantCulture);
        return map;
    }

    /// <summary>Reads <paramref name="path"/>; a missing or foreign file is bad input naming --resume.</summary>
    public static TrainingCheckpoint Load(string path)
    {
        try { return TrainingCheckpoint.Load(path); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or IOException)
        {
            throw new BadInputException($"--resume: {e.Message}", e);
        }
    }

    /// <summary>
    /// Overwrites the data and model options of <paramref name="settings"/> with the checkpoint's, and the schedule
    /// (epochs, freeze epochs, learning rate) with its plan, so the rebuilt run is the interrupted one.
    /// </summary>
    public static void Apply(TrainingCheckpoint checkpoint, TrainCommand.Settings settings)
    {
        var s = checkpoint.Settings;
        string Get(string key) => s.TryGetValue(key, out var v) ? v
            : throw new BadInputException($"--resume: the checkpoint has no '{key}' setting; it was not written by 'petsml train'.");
        int Int(string key) => int.Parse(Get(key), CultureInfo.InvariantCulture);
        settings.Data = Get("demo") == "true" ? null : Get("data");
        settings.LabelRegex = Get("label-regex");
        settings.ValidPct = double.Parse(Get("valid-pct"), CultureInfo.InvariantCulture);
        settings.SplitSeed = Int("split-seed");
        settings.Seed = Int("seed");
        settings.Arch = Get("arch");
        settings.Weights = s.TryGetValue("weights", out var weights) ? weights : null;
        settings.Presize = Int("presize");
        settings.Size = Int("size");
        settings.BatchSize = s.ContainsKey("batch-size") ? Int("batch-size") : null; // else the checkpoint's training plan
        settings.Epochs = checkpoint.Plan.Epochs;
        settings.FreezeEpochs = checkpoint.Plan.FreezeEpochs;
        settings.Lr = checkpoint.Plan.BaseLearningRate.ToString("R", CultureInfo.InvariantCulture);
        // The tricks, which the trainer stores under these flags' names: a checkpoint written before they were stored had none on.
        double Double(string key) => s.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : 0;
        int Count(string key) => s.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : 0;
        settings.LabelSmoothing = Double("label-smoothing");
        settings.MixUp = Double("mixup");
        settings.CutMix = Double("cutmix");
        settings.KeepBest = s.TryGetValue("keep-best", out var keepBest) && keepBest == "true";
        settings.EarlyStopping = Count("early-stopping");
        settings.GradAccum = Count("grad-accum");
        settings.Progressive = Count("progressive");
    }

    /// <summary>The command line that continues a run from <paramref name="checkpointPath"/>.</summary>
    public static string ResumeCommand(string checkpointPath, TrainCommand.Settings settings)
    {
        static string Quote(string arg) => arg.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'') ? $"\"{arg.Replace("\"", "\\\"")}\"" : arg;
        var args = new List<string> { "petsml", "train", "--resume", Quote(checkpointPath), "--out", Quote(settings.Out) };
        if (settings.Report is { } report) args.AddRange(["--report", Quote(report)]);
        if (settings.BatchPng is { } batchPng) args.AddRange(["--batch-png", Quote(batchPng)]);
        if (settings.SkipBadImages) args.Add("--skip-bad-images");
        if (settings.Json) args.Add("--json");
        return string.Join(' ', args);
    }
}
