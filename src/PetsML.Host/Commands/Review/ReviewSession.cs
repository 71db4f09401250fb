using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Interpretation;
using PetsML.Transforms.Loading;

namespace PetsML.Host.Commands.Review;

/// <summary>A photo of the folder under review, with what the model said about it.</summary>
internal sealed class ReviewedPhoto(string path, string? label, float[] probabilities)
{
    /// <summary>Relative to the data folder, '/'-separated.</summary>
    public string Path { get; set; } = path;
    /// <summary>The class its path gives, or null when it gives none the model knows.</summary>
    public string? Label { get; set; } = label;
    public float[] Probabilities { get; } = probabilities;
    public int Predicted { get; } = ArgMax(probabilities);

    static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}

/// <summary>What one change of an apply request asks for.</summary>
internal sealed record ChangeRequest(string? Path, string? Action, string? Label);

/// <summary>
/// A data folder scored once by the model, and the changes the review page asks for: each validated against the
/// scored listing (nothing outside it is read or moved) and made through the <see cref="ReviewJournal"/>. One request
/// at a time changes the folder.
/// </summary>
internal sealed class ReviewSession : IDisposable
{
    /// <summary>At most this many changes in one apply.</summary>
    public const int MaxChangesPerApply = 10_000;

    readonly Dictionary<string, ReviewedPhoto> _photos; // by current path; deleted ones under the trash folder
    readonly Lock _gate = new();

    ReviewSession(string root, PhotoLabels labels, IReadOnlyList<string> classNames, Dictionary<string, ReviewedPhoto> photos, ReviewJournal journal, int skippedLinks)
    {
        Root = root;
        Labels = labels;
        ClassNames = classNames;
        _photos = photos;
        Journal = journal;
        SkippedLinks = skippedLinks;
    }

    /// <summary>The data folder, a full path.</summary>
    public string Root { get; }
    public PhotoLabels Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public ReviewJournal Journal { get; }
    /// <summary>Photos left out because they are, or are reached through, a symbolic link.</summary>
    public int SkippedLinks { get; }
    /// <summary>The number of the last apply made by this session, or null.</summary>
    public int? LastApply { get; private set; }

    /// <summary>
    /// Lists <paramref name="root"/> (recovering its journal first), scores every image with <paramref name="model"/>
    /// and labels each from its path with <paramref name="labels"/>.
    /// </summary>
    public static ReviewSession Score(MLContext mlContext, ITransformer model, IReadOnlyList<string> classNames, string root, PhotoLabels labels, ReviewJournal journal)
    {
        journal.Recover();
        var listing = ImageFileListing.List(root);
        var files = listing.Files.Where(f => !ReviewPaths.ThroughLink(root, f)).ToList();
        int skipped = listing.Files.Count - files.Count;
        var photos = new Dictionary<string, ReviewedPhoto>(StringComparer.Ordinal);
        if (files.Count > 0)
        {
            var scored = model.Transform(mlContext.Data.LoadFromEnumerable(files.Select(f => new ImageFileRow { ImagePath = f })));
            var score = scored.Schema["Score"];
            using var cursor = scored.GetRowCursor([score]);
            var getter = cursor.GetGetter<VBuffer<float>>(score);
            VBuffer<float> value = default;
            int row = 0;
            while (cursor.MoveNext())
            {
                getter(ref value);
                var path = ReviewPaths.Relative(root, files[row++]);
                var label = labels.LabelOf(path);
                photos[path] = new ReviewedPhoto(path, label is not null && classNames.Contains(label) ? label : null, value.DenseValues().ToArray());
            }
        }
        return new ReviewSession(root, labels, classNames, photos, journal, skipped);
    }

    /// <summary>The photo at <paramref name="path"/> if it is one of the listed photos (not deleted) and still a plain file; else a 4xx <see cref="ReviewException"/>.</summary>
    public (ReviewedPhoto Photo, string FullPath) Photo(string? path)
    {
        if (ReviewPaths.Problem(path) is { } problem) throw new ReviewException(400, $"'{ReviewPaths.Printable(path)}': {problem}.");
        lock (_gate)
        {
            if (!_photos.TryGetValue(path!, out var photo))
                throw new ReviewException(404, $"'{ReviewPaths.Printable(path)}' is not one of the photos under review.");
            var full = ReviewPaths.Full(Root, photo.Path);
            if (ReviewPaths.ThroughLink(Root, full)) throw new ReviewException(403, $"'{ReviewPaths.Printable(path)}' is a link now; links are refused.");
            return (photo, full);
        }
    }

    /// <summary>What the page shows: the photos (not deleted), the most confused pairs and the next command.</summary>
    public object State(bool heatmaps)
    {
        lock (_gate)
        {
            var visible = _photos.Values.Where(p => !p.Path.StartsWith(ReviewJournal.TrashFolderName + "/", StringComparison.Ordinal))
                .OrderBy(p => p.Path, StringComparer.Ordinal).ToList();
            var labelled = visible.Where(p => p.Label is not null).ToList();
            IReadOnlyList<ConfusedPair> confused = labelled.Count == 0 || ClassNames.Count < 2 ? [] : new ClassificationInterpretation(ClassNames,
                labelled.Select(p => p.Probabilities).ToList(), labelled.Select(p => IndexOf(p.Label!)).ToList(),
                labelled.Select(p => Loss(p)!.Value).ToList(), labelled.Select(p => p.Path).ToList()).MostConfused();
            return new
            {
                folder = Root,
                classes = ClassNames,
                labels = Labels.Pattern is null ? "folders" : "file names",
                pattern = Labels.Pattern,
                heatmaps,
                photos = visible.Select(p => new
                {
                    path = p.Path,
                    label = p.Label,
                    predicted = ClassNames[p.Predicted],
                    probability = p.Probabilities[p.Predicted],
                    loss = Loss(p),
                }),
                mostConfused = confused.Select(c => new { actual = c.Actual, predicted = c.Predicted, count = c.Count }),
                lastApply = LastApply,
                canUndo = Journal.Changes().Any(c => c.Step == "done"),
                nextStep = NextStep(),
            };
        }
    }

    /// <summary>Validates every requested change against the listing first, then makes them all as one apply.</summary>
    public (int Apply, int Changes) Apply(IReadOnlyList<ChangeRequest> requests)
    {
        if (requests.Count > MaxChangesPerApply) throw new ReviewException(413, $"{requests.Count} changes in one apply; at most {MaxChangesPerApply}.");
        lock (_gate)
        {
            int apply = Journal.Read().Select(e => e.Apply).DefaultIfEmpty(0).Max() + 1;
            var sources = new HashSet<string>(StringComparer.Ordinal);
            var targets = new HashSet<string>(StringComparer.Ordinal);
            var changes = new List<FolderChange>();
            foreach (var request in requests)
            {
                var (photo, _) = Photo(request.Path);
                if (!sources.Add(photo.Path)) throw new ReviewException(400, $"'{photo.Path}' is changed twice in one apply.");
                string? to;
                switch (request.Action)
                {
                    case "keep":
                        continue;
                    case "delete":
                        to = $"{ReviewJournal.TrashFolderName}/{apply}/{photo.Path}";
                        break;
                    case "relabel":
                        if (request.Label is null || !ClassNames.Contains(request.Label))
                            throw new ReviewException(400, $"'{photo.Path}': '{ReviewPaths.Printable(request.Label)}' is not one of the model's classes ({string.Join(", ", ClassNames)}).");
                        if (request.Label == photo.Label) continue;
                        to = Labels.Relabeled(photo.Path, request.Label, candidate => !targets.Contains(candidate) && !_photos.ContainsKey(candidate)
                            && !File.Exists(ReviewPaths.Full(Root, candidate)) && !Directory.Exists(ReviewPaths.Full(Root, candidate)));
                        break;
                    default:
                        throw new ReviewException(400, $"'{photo.Path}': action '{ReviewPaths.Printable(request.Action)}' is not keep, relabel or delete.");
                }
                targets.Add(to);
                changes.Add(new FolderChange(request.Action, photo.Path, to));
            }
            if (changes.Count == 0) return (0, 0);
            try { Journal.Apply(changes); }
            finally { Follow(Journal.Changes().Where(c => c.Apply == apply && c.Step == "done").Select(c => (c.From, c.To))); }
            LastApply = apply;
            return (apply, changes.Count);
        }
    }

    /// <summary>Reverts the last apply (of this session or an earlier one); null when there is nothing to undo.</summary>
    public (int Apply, int Changes)? Undo()
    {
        lock (_gate)
        {
            (int Apply, IReadOnlyList<ReviewJournal.ChangeState> Reverted)? undone = null;
            try { undone = Journal.UndoLast(); }
            finally
            {
                // Also after a refused undo: the changes it did revert are back in the listing.
                var reverted = Journal.Changes().Where(c => c.Step == "undone" && _photos.ContainsKey(c.To)
                    && !File.Exists(ReviewPaths.Full(Root, c.To, inTrash: true)) && File.Exists(ReviewPaths.Full(Root, c.From))).Select(c => (c.To, c.From));
                Follow(reverted.ToList());
            }
            return undone is { } u ? (u.Apply, u.Reverted.Count) : null;
        }
    }

    /// <summary>Moves the listing's entries along with their files.</summary>
    void Follow(IEnumerable<(string From, string To)> moves)
    {
        foreach (var (from, to) in moves)
        {
            if (!_photos.Remove(from, out var photo)) continue;
            photo.Path = to;
            var label = Labels.LabelOf(to);
            photo.Label = label is not null && ClassNames.Contains(label) ? label : null;
            _photos[to] = photo;
        }
    }

    int IndexOf(string label) => ClassNames.ToList().IndexOf(label);

    /// <summary>−ln p(label), what fastai's top_losses sorts by; null without a label.</summary>
    float? Loss(ReviewedPhoto photo) => photo.Label is null ? null : (float)-Math.Log(Math.Max(photo.Probabilities[IndexOf(photo.Label)], float.Epsilon));

    /// <summary>The command that trains again on the cleaned folder.</summary>
    string NextStep()
    {
        static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
        return Labels.Pattern is null
            ? $"The classes are folder names, which 'petsml train' does not read: fit your pipeline (LabelFromFolderName) on {Quote(Root)} again."
            : $"petsml train --data {Quote(Root)}" + (Labels.Pattern == PetsML.Transforms.Labeling.RegexLabeler.OxfordPetsPattern ? "" : $" --label-regex {Quote(Labels.Pattern)}");
    }

    public void Dispose() => Journal.Dispose();
}
