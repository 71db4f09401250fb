using System.IO.Compression;
using System.Text.Json;
using PetsML.Trainers.Modeling;
using PetsML.Trainers.Optimization;
using PetsML.Trainers.Training;
using static TorchSharp.torch;

namespace PetsML;

/// <summary>
/// Everything needed to continue a <see cref="Learner.FineTune"/> after its last finished epoch, as one file: the
/// model's weights and buffers (<c>Module.save</c>, fp32), the optimizer state (moments, step counts,
/// hyper-parameters), the masks generators of <see cref="SeededDropout"/> modules, the fine_tune arguments
/// (<see cref="Plan"/>), the epochs done, the class names, the state of the learner's <see cref="IResumableCallback"/>s
/// (keep-best, early stopping) and free-form settings the caller needs to rebuild its data and model (architecture, sizes, seeds...).
/// </summary>
/// <remarks>
/// Not stored, because it is a function of the seeds and the learner's data epoch (<see cref="DataEpoch"/>, stored):
/// the shuffling and augmentation of later epochs (the batch sequences derive them from seed + epoch). Rebuild the learner with the same seeds and data, then
/// call <see cref="Learner.FineTune"/> with <c>resumeFrom</c>; the remaining epochs then compute exactly what an
/// uninterrupted run computes. The file is a zip: checkpoint.json, model.bin, optimizer.bin, dropout.bin, callbacks/KEY.bin.
/// </remarks>
public sealed class TrainingCheckpoint
{
    /// <summary>The format tag in checkpoint.json.</summary>
    internal const string Format = "petsml-checkpoint-v1";

    const string MetadataEntry = "checkpoint.json";
    const string ModelEntry = "model.bin";
    const string OptimizerEntry = "optimizer.bin";
    const string DropoutEntry = "dropout.bin";
    const string CallbackEntryPrefix = "callbacks/";

    readonly byte[] _model;
    readonly byte[] _optimizer;
    readonly IReadOnlyList<byte[]> _dropoutStates;

    TrainingCheckpoint(FineTunePlan plan, int epochsDone, int dataEpoch, IReadOnlyList<string> classNames, IReadOnlyDictionary<string, string> settings,
        byte[] model, byte[] optimizer, IReadOnlyList<byte[]> dropoutStates, SmoothedLossState? smoothedLoss,
        IReadOnlyDictionary<string, byte[]> callbackStates, Trainers.FineTuning.TrainingPlan? trainingPlan)
    {
        TrainingPlan = trainingPlan;
        CallbackStates = callbackStates;
        SmoothedLoss = smoothedLoss;
        Plan = plan;
        EpochsDone = epochsDone;
        DataEpoch = dataEpoch;
        ClassNames = classNames;
        Settings = settings;
        _model = model;
        _optimizer = optimizer;
        _dropoutStates = dropoutStates;
    }

    /// <summary>The fine_tune this checkpoint belongs to.</summary>
    internal FineTunePlan Plan { get; }

    /// <summary>
    /// The training plan of the run (batch size, epochs, learning rate, what the user set): a resumed run uses it rather than
    /// deciding again. Null in checkpoints written before plans were stored.
    /// </summary>
    internal Trainers.FineTuning.TrainingPlan? TrainingPlan { get; }

    /// <summary>Epochs finished over the whole fine_tune (frozen ones first), in [1, Plan.TotalEpochs].</summary>
    public int EpochsDone { get; }

    /// <summary>The learner's <see cref="Learner.DataEpoch"/> when captured: the data epochs drawn so far (lr_find's included).</summary>
    public int DataEpoch { get; }

    /// <summary>The classes in label-key order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The caller's settings (e.g. the command-line options that rebuild data and model).</summary>
    internal IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>
    /// The recorder's smoothed training loss after the last finished epoch; a run resumed inside a fit continues it, so its
    /// train_loss column equals the uninterrupted run's. Null in checkpoints written before it was stored.
    /// </summary>
    internal SmoothedLossState? SmoothedLoss { get; }

    /// <summary>
    /// The state of each <see cref="IResumableCallback"/> of the learner after the last finished epoch, by
    /// <see cref="IResumableCallback.StateKey"/>; a fit resumed inside its epochs puts them back. Empty when it had none.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> CallbackStates { get; }

    /// <summary>Copies the learner's current weights and optimizer state; epochsDone counts the plan's finished epochs (frozen ones included).</summary>
    internal static TrainingCheckpoint Capture(Learner learner, FineTunePlan plan, int epochsDone, IReadOnlyList<string> classNames,
        IReadOnlyDictionary<string, string>? settings = null, Trainers.FineTuning.TrainingPlan? trainingPlan = null)
    {
        ArgumentNullException.ThrowIfNull(learner);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(classNames);
        if (epochsDone < 1 || epochsDone > plan.TotalEpochs)
            throw new ArgumentOutOfRangeException(nameof(epochsDone), epochsDone, $"epochsDone must lie in [1, {plan.TotalEpochs}] (the plan's epochs).");
        using var model = new MemoryStream();
        learner.Model.save(model);
        using var optimizer = new MemoryStream();
        learner.Optimizer.SaveState(optimizer);
        var dropout = new List<byte[]>();
        foreach (var d in learner.Model.modules().OfType<SeededDropout>())
        {
            using var state = d.GetGeneratorState();
            dropout.Add(state.data<byte>().ToArray());
        }
        var callbackStates = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var callback in learner.Callbacks.OfType<IResumableCallback>())
        {
            if (!IsStateKey(callback.StateKey))
                throw new ArgumentException($"Callback state key '{callback.StateKey}' must be 1-64 letters, digits or '-'.", nameof(learner));
            if (!callbackStates.TryAdd(callback.StateKey, callback.SaveState()))
                throw new ArgumentException($"Two callbacks of the learner store their state as '{callback.StateKey}'.", nameof(learner));
        }
        return new TrainingCheckpoint(plan, epochsDone, learner.DataEpoch, classNames.ToList(),
            new Dictionary<string, string>(settings ?? new Dictionary<string, string>(), StringComparer.Ordinal),
            model.ToArray(), optimizer.ToArray(), dropout, learner.Recorder.SmoothingState, callbackStates, trainingPlan);
    }

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically (<see cref="AtomicFile"/>): a temporary file next to it, flushed, then a rename.</summary>
    internal void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.Write(path, temporary =>
        {
            using var file = new FileStream(temporary, FileMode.Create, FileAccess.Write);
            using var zip = new ZipArchive(file, ZipArchiveMode.Create);
            var metadata = new Metadata(Format, EpochsDone, Plan.Epochs, Plan.FreezeEpochs, Plan.BaseLearningRate, Plan.LrMult,
                Plan.PctStart, Plan.Div, ClassNames.ToList(), new Dictionary<string, string>(Settings), _dropoutStates.Count,
                SmoothedLoss?.Sum, SmoothedLoss?.Count, DataEpoch, CallbackStates.Keys.ToList(), PlanToBase64(TrainingPlan));
            Write(zip, MetadataEntry, JsonSerializer.SerializeToUtf8Bytes(metadata, JsonOptions));
            Write(zip, ModelEntry, _model);
            Write(zip, OptimizerEntry, _optimizer);
            using var dropout = new MemoryStream();
            using (var writer = new BinaryWriter(dropout, System.Text.Encoding.UTF8, leaveOpen: true))
                foreach (var state in _dropoutStates) { writer.Write(state.Length); writer.Write(state); }
            Write(zip, DropoutEntry, dropout.ToArray());
            foreach (var (key, state) in CallbackStates) Write(zip, CallbackEntryPrefix + key + ".bin", state);
        });
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a PetsML checkpoint (or a damaged one).</exception>
    public static TrainingCheckpoint Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var metadata = JsonSerializer.Deserialize<Metadata>(Read(zip, MetadataEntry, path), JsonOptions)
                ?? throw new InvalidDataException($"'{path}': empty {MetadataEntry}.");
            if (metadata.Format != Format)
                throw new InvalidDataException($"'{path}' is a checkpoint of format '{metadata.Format}'; this PetsML reads '{Format}'.");
            var plan = new FineTunePlan(metadata.Epochs, metadata.FreezeEpochs, metadata.BaseLearningRate, metadata.LrMult, metadata.PctStart, metadata.Div);
            if (metadata.EpochsDone < 1 || metadata.EpochsDone > plan.TotalEpochs)
                throw new InvalidDataException($"'{path}': {metadata.EpochsDone} epochs done is outside [1, {plan.TotalEpochs}].");
            var dropout = new List<byte[]>();
            using (var reader = new BinaryReader(new MemoryStream(Read(zip, DropoutEntry, path))))
                for (int i = 0; i < metadata.DropoutModules; i++) dropout.Add(reader.ReadBytes(reader.ReadInt32()));
            if (metadata.SmoothedLossCount < 0 || metadata.SmoothedLossSum is { } s && !double.IsFinite(s))
                throw new InvalidDataException($"'{path}': the smoothed-loss state ({metadata.SmoothedLossSum}, {metadata.SmoothedLossCount}) is not a finite sum with a count ≥ 0.");
            // A checkpoint written before the data epoch was stored: its fine_tune drew one data epoch per epoch done.
            int dataEpoch = metadata.DataEpoch ?? metadata.EpochsDone;
            if (dataEpoch < metadata.EpochsDone)
                throw new InvalidDataException($"'{path}': {dataEpoch} data epochs is fewer than the {metadata.EpochsDone} epochs done.");
            var callbackStates = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var key in metadata.CallbackStates ?? [])
            {
                if (!IsStateKey(key) || callbackStates.ContainsKey(key))
                    throw new InvalidDataException($"'{path}': '{key}' is not a callback state name (1-64 letters, digits or '-', once each).");
                callbackStates[key] = Read(zip, CallbackEntryPrefix + key + ".bin", path);
            }
            return new TrainingCheckpoint(plan, metadata.EpochsDone, dataEpoch, metadata.ClassNames ?? [],
                metadata.Settings ?? new Dictionary<string, string>(), Read(zip, ModelEntry, path), Read(zip, OptimizerEntry, path), dropout,
                metadata is { SmoothedLossSum: { } sum, SmoothedLossCount: { } count } ? new SmoothedLossState(sum, count) : null, callbackStates,
                PlanFromBase64(metadata.TrainingPlan));
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is not a readable PetsML checkpoint: {e.Message}", e);
        }
        catch (InvalidDataException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}' is not a PetsML checkpoint: {e.Message}", e);
        }
    }

    /// <summary>Puts the weights, buffers and dropout generator states back into <paramref name="model"/> (same architecture and class count).</summary>
    /// <exception cref="InvalidDataException">The model does not match the checkpoint.</exception>
    internal void RestoreModel(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            using var stream = new MemoryStream(_model, writable: false);
            model.load(stream, strict: true);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The checkpoint's weights do not fit this model: {e.Message}", e);
        }
        var dropouts = model.modules().OfType<SeededDropout>().ToList();
        if (dropouts.Count != _dropoutStates.Count)
            throw new InvalidDataException($"The checkpoint has {_dropoutStates.Count} dropout generator states; the model has {dropouts.Count} seeded dropouts.");
        for (int i = 0; i < dropouts.Count; i++)
        {
            using var state = tensor(_dropoutStates[i]);
            dropouts[i].SetGeneratorState(state);
        }
    }

    /// <summary>Puts the optimizer state (moments, step counts, hyper-parameters) back into <paramref name="optimizer"/>.</summary>
    internal void RestoreOptimizer(FastaiAdam optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        using var stream = new MemoryStream(_optimizer, writable: false);
        optimizer.LoadState(stream);
    }

    static bool IsStateKey(string? key) => key is { Length: > 0 and <= 64 } && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    static void Write(ZipArchive zip, string name, byte[] bytes)
    {
        // Weights hardly compress; storing keeps a checkpoint per epoch cheap.
        using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        entry.Write(bytes);
    }

    static byte[] Read(ZipArchive zip, string name, string path)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"'{path}' is not a PetsML checkpoint: it has no {name}.");
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The plan in checkpoint.json: its binary form (<see cref="Trainers.FineTuning.TrainingPlan.Write"/>) in base64.</summary>
    static string? PlanToBase64(Trainers.FineTuning.TrainingPlan? plan)
    {
        if (plan is null) return null;
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) plan.Write(writer);
        return Convert.ToBase64String(stream.ToArray());
    }

    static Trainers.FineTuning.TrainingPlan? PlanFromBase64(string? text)
    {
        if (text is null) return null;
        using var reader = new BinaryReader(new MemoryStream(Convert.FromBase64String(text)));
        return Trainers.FineTuning.TrainingPlan.Read(reader);
    }

    sealed record Metadata(string Format, int EpochsDone, int Epochs, int FreezeEpochs, double BaseLearningRate, double LrMult,
        double PctStart, double Div, List<string>? ClassNames, Dictionary<string, string>? Settings, int DropoutModules,
        double? SmoothedLossSum = null, int? SmoothedLossCount = null, int? DataEpoch = null, List<string>? CallbackStates = null,
        string? TrainingPlan = null);
}
