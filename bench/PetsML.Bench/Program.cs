// Benchmarks, one verb each: dotnet run -c Release --project bench/PetsML.Bench -- <verb> [options]
// Add a benchmark by adding a verb to the table below.
using PetsML.Bench;

// First of all: glibc's malloc settings for libtorch (one restart of this process; see GlibcMallocTunables),
// or, to compare, the same threshold set in process (InProcessMalloc).
if (!InProcessMalloc.Apply()) PetsML.Host.Native.GlibcMallocTunables.ApplyByRestarting(args);
var verbs = new Dictionary<string, (string Help, Func<string[], int> Run)>(StringComparer.Ordinal)
{
    ["decode"] = (DecodePresizeBenchmark.Help, DecodePresizeBenchmark.Run),
    ["dataset"] = (DataSetCheck.Help, DataSetCheck.Run),
    ["augment"] = ("augmentation of a 64-image batch 460->224 [--runs 15] [--demo PNG]", AugmentBenchmark.Run),
    ["step"] = (RawStepBenchmark.Help, RawStepBenchmark.Run),
    ["batches"] = (BatchSourceBenchmark.Help, BatchSourceBenchmark.Run),
    ["pets"] = (PetsFineTuneBenchmark.Help, PetsFineTuneBenchmark.Run),
    ["recipes"] = (LessonRecipesBenchmark.Help, LessonRecipesBenchmark.Run),
    ["precision"] = (PrecisionBenchmark.Help, PrecisionBenchmark.Run),
    ["dataset-memory"] = (DataSetMemoryBenchmark.Help, DataSetMemoryBenchmark.Run),
    ["score"] = (ScoreBenchmark.Help, ScoreBenchmark.Run),
    ["score-rss"] = (ScoreBenchmark.RssHelp, ScoreBenchmark.RunRss),
    ["mlnet-inference"] = (MlNetInferenceBenchmark.Help, MlNetInferenceBenchmark.Run),
    ["presize-dump"] = (PresizeDump.Help, PresizeDump.Run),
    ["draw-dump"] = (DrawDump.Help, DrawDump.Run),
    ["step-check"] = (StepCheck.Help, StepCheck.Run),
    ["serve-load"] = (ServeLoadBenchmark.Help, ServeLoadBenchmark.Run),
    ["serve-ceiling"] = (ServeLoadBenchmark.CeilingHelp, ServeLoadBenchmark.RunCeiling),
    ["plan-sweep"] = (PlanSweepBenchmark.Help, PlanSweepBenchmark.Run),
    ["gradcam-centre"] = (GradCamCentreBenchmark.Help, GradCamCentreBenchmark.Run),
    ["ood"] = (OodBenchmark.Help, OodBenchmark.Run),
    ["ood-cost"] = (OodCostBenchmark.Help, OodCostBenchmark.Run),
};

if (args.Length == 0 || !verbs.TryGetValue(args[0], out var verb))
{
    Console.Error.WriteLine(args.Length == 0 ? "usage: PetsML.Bench <verb> [options]" : $"unknown benchmark '{args[0]}'");
    foreach (var (name, (help, _)) in verbs)
    {
        Console.Error.WriteLine($"  {name,-10} {help}");
    }

    return 2;
}

if (args[1..].Any(a => a is "--help" or "-h"))
{
    Console.WriteLine($"{args[0]}: {verb.Help}");
    return 0;
}

try
{
    return verb.Run(args[1..]);
}
catch (ArgumentException e)
{
    // A missing or malformed option: say which, with the verb's usage, not a stack trace.
    Console.Error.WriteLine($"{args[0]}: {e.Message}");
    Console.Error.WriteLine($"usage: {args[0]} {verb.Help}");
    return 2;
}
