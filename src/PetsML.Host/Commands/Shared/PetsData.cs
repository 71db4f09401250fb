using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Cli;
using PetsML.Host.Demo;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Labeling;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Presizing;
using Spectre.Console;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// The lesson's DataBlock as an ML.NET pipeline, built from the command-line options: LoadImageFiles →
/// LabelFromFileName → RandomSplit → Presize → AugmentImages, fitted on the folder (or the demo photos).
/// </summary>
public sealed class PetsData
{
    PetsData(string folder, bool isDemo, ImageFileList listing, IDataView raw, TransformerChain<ITransformer> model, IDataView transformed)
    {
        Folder = folder;
        IsDemo = isDemo;
        Listing = listing;
        Raw = raw;
        Model = model;
        Transformed = transformed;
    }

    /// <summary>The image folder read.</summary>
    public string Folder { get; }

    /// <summary>True when no --data was given and the built-in demo photos are used.</summary>
    public bool IsDemo { get; }

    public ImageFileList Listing { get; }

    /// <summary>The file rows (one "ImagePath" column): the input schema of a saved model.</summary>
    public IDataView Raw { get; }

    /// <summary>The fitted data pipeline.</summary>
    public TransformerChain<ITransformer> Model { get; }

    /// <summary><see cref="Raw"/> through <see cref="Model"/>: what the trainer is given.</summary>
    public IDataView Transformed { get; }

    /// <summary>The class names in key order.</summary>
    public IReadOnlyList<string> ClassNames => Model.OfType<FileLabelTransformer>().First().Vocabulary;

    public static PetsData Load(MLContext mlContext, DataSettings settings, IAnsiConsole human)
    {
        bool isDemo = settings.Data is null;
        string folder = DataFolder.Resolve(settings.Data);
        if (isDemo)
            human.MarkupLineInterpolated($"[grey]No --data: using the built-in demo photos (Oxford-IIIT Pet, CC BY-SA 4.0, see {DemoPhotos.LicenseFileName} there).[/]");

        ImageFileList listing;
        IDataView raw;
        try { raw = mlContext.Data.LoadImageFiles(folder, out listing); }
        catch (InvalidDataException e) { throw new BadInputException($"--data: {e.Message}", e); }
        if (listing.SkippedNonImage.Count > 0)
            human.MarkupLineInterpolated($"[yellow]Skipped {listing.SkippedNonImage.Count} file(s) with an image extension PetsML cannot decode (first: {listing.SkippedNonImage[0]}).[/]");

        var pipeline = mlContext.Transforms.LabelFromFileName(settings.LabelRegex)
            .Append(mlContext.Transforms.RandomSplit(settings.ValidPct, settings.SplitSeed))
            .Append(mlContext.Transforms.Presize(new PresizeOptions { Size = settings.PresizeOrDefault }))
            .Append(mlContext.Transforms.AugmentImages(new AugmentOptions { Size = settings.SizeOrDefault }));
        TransformerChain<ITransformer> model;
        try { model = pipeline.Fit(raw).ToUntypedChain(); }
        catch (InvalidDataException e) { throw new BadInputException($"--label-regex '{settings.LabelRegex}': {e.Message}", e); }
        var data = new PetsData(folder, isDemo, listing, raw, model, model.Transform(raw));
        human.MarkupLineInterpolated($"{listing.Files.Count} images, {data.ClassNames.Count} classes in {folder}.");
        return data;
    }
}

static class TransformerChainExtensions
{
    /// <summary>The chain with its element type widened to <see cref="ITransformer"/>, so a trainer can be appended.</summary>
    public static TransformerChain<ITransformer> ToUntypedChain<T>(this TransformerChain<T> chain) where T : class, ITransformer
        => new(chain.Cast<ITransformer>().ToArray());
}
