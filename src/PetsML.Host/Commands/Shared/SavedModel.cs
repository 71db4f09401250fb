using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms.Interop.MlNet;

namespace PetsML.Host.Commands.Shared;

/// <summary>A model .zip written by <c>petsml train</c> (or by C# code with the same pipeline), loaded in this process.</summary>
public sealed class SavedModel : IDisposable
{
    SavedModel(ITransformer model, ImageClassifierTransformer classifier)
    {
        Model = model;
        Classifier = classifier;
    }

    /// <summary>The whole pipeline: label, split, presize, augment (validation path), classifier.</summary>
    public ITransformer Model { get; }

    public ImageClassifierTransformer Classifier { get; }

    public IReadOnlyList<string> ClassNames => Classifier.ClassNames;

    /// <summary>Loads --model with the command's --precision and --channels-last for inference.</summary>
    public static SavedModel Load(MLContext mlContext, ModelSettings settings)
    {
        var saved = Load(mlContext, settings.Model);
        // The .zip holds fp32 weights; the inference precision is chosen here, when the model is loaded.
        saved.Classifier.InferencePrecision = ComputeFlags.Precision(settings.Precision);
        saved.Classifier.InferenceChannelsLast = ComputeFlags.ChannelsLast(settings.ChannelsLast);
        return saved;
    }

    /// <summary>Loads <paramref name="path"/>; a missing file or a .zip that is not a PetsML model is a <see cref="BadInputException"/>.</summary>
    public static SavedModel Load(MLContext mlContext, string path)
    {
        if (!File.Exists(path))
            throw new BadInputException($"--model: file '{path}' does not exist (train one with 'petsml train --out {path}').");
        CheckEntrySizes(path);
        mlContext.RegisterPetsML();
        ITransformer model;
        DataViewSchema inputSchema;
        try { model = mlContext.Model.Load(path, out inputSchema); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new BadInputException($"--model: '{path}' is not a model .zip PetsML can read ({Printable(e.GetBaseException().Message)}).", e);
        }
        var classifier = (model as IEnumerable<ITransformer>)?.OfType<ImageClassifierTransformer>().LastOrDefault()
            ?? throw new BadInputException($"--model: '{path}' is an ML.NET model but has no PetsML image classifier in it.");
        // Each step checks what the one before it makes (an augment size unlike the classifier's image size, say):
        // found here, at load, it is the model's fault and said so, not an image's at the first prediction.
        try { model.GetOutputSchema(inputSchema); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            (model as IDisposable)?.Dispose();
            throw new BadInputException($"--model: '{path}' is not a model .zip PetsML can read: its steps do not fit together ({Printable(e.Message)}).", e);
        }
        return new SavedModel(model, classifier);
    }

    /// <summary>Most bytes an entry other than the classifier's weights may declare: PetsML writes a few KB in each.</summary>
    internal const long MaxOtherEntryBytes = 64L << 20;

    /// <summary>
    /// ML.NET extracts every entry it reads to a temporary file before its loader sees it. The classifier reads its
    /// weights itself, with a cap from the model's size; every other entry of a PetsML model is small, so one that
    /// declares more is refused before ML.NET writes it out (.NET stops inflating an entry at the size it declares).
    /// </summary>
    static void CheckEntrySizes(string path)
    {
        try
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries)
                if (entry.Name != "Weights.dat" && entry.Length > MaxOtherEntryBytes)
                    throw new BadInputException($"--model: '{path}' is not a model .zip PetsML can read (entry '{Printable(entry.FullName)}' declares {entry.Length:N0} bytes; a PetsML model's entries other than Weights.dat hold at most {MaxOtherEntryBytes:N0}).");
        }
        catch (InvalidDataException e)
        {
            // Refused here, not by ML.NET: it makes its ml_dotnet_* folder in the temporary folder before it opens the
            // archive, and leaves it behind when the archive is unreadable.
            throw new BadInputException($"--model: '{path}' is not a model .zip PetsML can read (not a zip archive: {Printable(e.Message)}).", e);
        }
    }

    /// <summary>
    /// The first line of a loader's message, at most 300 characters, with anything unprintable shown as '?': ML.NET
    /// quotes bytes it read from a damaged .zip (a signature, a name) into its messages, and they must not reach the
    /// terminal as control characters.
    /// </summary>
    internal static string Printable(string message)
    {
        var line = message.Split('\n')[0];
        if (line.Length > 300) line = line[..300] + "...";
        return string.Concat(line.Select(c => char.IsControl(c) || char.IsSurrogate(c) || c == '\uFFFD' ? '?' : c));
    }

    public void Dispose() => Classifier.Dispose();
}
