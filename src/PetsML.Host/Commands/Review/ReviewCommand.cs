using System.ComponentModel;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.ML;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Transforms.Labeling;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Review;

/// <summary>
/// <c>petsml review</c>: fastai's ImageClassifierCleaner as a local web page. Scores every photo of --data with the
/// model, serves a page on this machine (with a random token in its address) that lists them per class by loss and
/// lets the user keep, relabel or delete each; "apply" changes the folder through a journal, and <c>--undo</c> reverts
/// the last apply.
/// </summary>
public sealed class ReviewCommand(HostConsole console) : Command<ReviewCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandOption("--data <DIR>")]
        [Description("The folder of photos to review (required). Its changes go into it: moves, renames, and .petsml-trash/ for deletions; the journal is .petsml-review/journal.jsonl.")]
        public string? Data { get; set; }

        [CommandOption("--label-regex <RE>")]
        [Description("Read the classes from file names with this regex (group 1 or the group named 'label'); a relabel renames the file. Default: the model's own labelling (its regex, or the folder that holds each photo, where a relabel moves the photo into the class's folder).")]
        public string? LabelRegex { get; set; }

        [CommandOption("--urls <URL>")]
        [Description("Where to listen: a loopback http:// address. Default: a free port of 127.0.0.1.")]
        [DefaultValue("http://127.0.0.1:0")]
        public string Urls { get; set; } = "http://127.0.0.1:0";

        [CommandOption("--undo")]
        [Description("Revert the last apply recorded in the folder's journal, then exit (no model needed).")]
        [DefaultValue(false)]
        public bool Undo { get; set; }

        /// <summary>Tests only: stop (block) after this many journal lines and moves, so that a test can kill the process there.</summary>
        [CommandOption("--halt-after-steps <N>", IsHidden = true)]
        public int? HaltAfterSteps { get; set; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Data)) return ValidationResult.Error("--data must name the folder of photos to review.");
            if (LabelRegex is not null)
            {
                try { _ = new RegexLabeler(LabelRegex); }
                catch (ArgumentException e) { return ValidationResult.Error($"--label-regex: {e.Message}"); }
            }
            if (!Uri.TryCreate(Urls, UriKind.Absolute, out var uri) || uri.Scheme != "http" || Urls.Contains(';')
                || !(uri.Host == "localhost" || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))))
                return ValidationResult.Error($"--urls: '{Urls}' is not one loopback http:// address (review changes files, so it answers this machine only).");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        if (!Directory.Exists(settings.Data)) throw new BadInputException($"--data: folder '{settings.Data}' does not exist.");
        var root = Path.GetFullPath(settings.Data!);
        using var journal = Open(root);
        if (settings.HaltAfterSteps is int halt)
        {
            int steps = 0;
            journal.AfterStep = () =>
            {
                if (++steps < halt) return;
                Console.Error.WriteLine($"halted after {steps} steps");
                Thread.Sleep(Timeout.Infinite);
            };
        }
        if (settings.Undo) return Undo(journal, root, settings.Json);

        var mlContext = new MLContext(seed: 0);
        using var saved = SavedModel.Load(mlContext, settings);
        var labels = Labels(saved, settings.LabelRegex);
        ReviewSession session;
        try { session = ReviewSession.Score(mlContext, saved.Model, saved.ClassNames, root, labels, journal); }
        catch (ReviewException e) { throw new BadInputException($"--data: {e.Message}", e); }
        catch (InvalidDataException e) { throw new BadInputException($"--data: {e.Message}", e); }
        if (session.SkippedLinks > 0) console.Warn($"Left out {session.SkippedLinks} photo(s) that are or sit behind a symbolic link: review moves only plain files inside --data.");

        var token = ReviewServer.NewToken();
        var app = ReviewServer.Build(session, settings.Urls, token, new GradCamHeatmaps(mlContext, saved.Model), line => console.Error.WriteLine(line));
        using (app as IDisposable)
        {
            app.StartAsync(cancellationToken).GetAwaiter().GetResult();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
            human.WriteLine($"Reviewing {root} ({session.ClassNames.Count} classes). Open in a browser (Ctrl+C stops):");
            var page = $"{address.GetLeftPart(UriPartial.Authority)}/?token={token}";
            human.WriteLine(page);
            if (settings.Json) console.WriteJson(new { command = "review", data = root, url = page, classes = session.ClassNames });
            try { app.WaitForShutdownAsync(cancellationToken).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
            app.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        return ExitCodes.Success;
    }

    static ReviewJournal Open(string root)
    {
        try { return ReviewJournal.Open(root); }
        catch (ReviewException e) { throw new BadInputException($"--data: {e.Message}", e); }
    }

    int Undo(ReviewJournal journal, string root, bool json)
    {
        (int Apply, IReadOnlyList<ReviewJournal.ChangeState> Reverted)? undone;
        try { undone = journal.UndoLast(); }
        catch (ReviewException e) { throw new BadInputException($"--undo: {e.Message}", e); }
        var human = console.Human(json);
        if (undone is { } u) human.WriteLine($"Undid apply {u.Apply} in {root}: {u.Reverted.Count} change(s) reverted (journal {journal.JournalPath}).");
        else human.WriteLine($"Nothing to undo in {root}: no apply in its journal has a change left to revert.");
        if (json) console.WriteJson(new { command = "review", undo = true, apply = undone?.Apply, reverted = undone?.Reverted.Count ?? 0 });
        return ExitCodes.Success;
    }

    /// <summary>--label-regex when given, else the model's own labelling step.</summary>
    static PhotoLabels Labels(SavedModel saved, string? labelRegex)
    {
        if (labelRegex is not null) return PhotoLabels.FromFileNames(labelRegex);
        var step = (saved.Model as IEnumerable<ITransformer>)?.OfType<FileLabelTransformer>().FirstOrDefault()
            ?? throw new BadInputException("--model: the model has no labelling step (LabelFromFileName or LabelFromFolderName); give --label-regex.");
        return step.Source == LabelSource.ParentFolder ? PhotoLabels.FromFolders() : PhotoLabels.FromFileNames(step.Pattern);
    }
}
