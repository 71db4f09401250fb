using System.Text.Json;
using System.Text.Json.Serialization;

namespace PetsML.Host.Commands.Review;

/// <summary>A change to make to the data folder: move <see cref="From"/> to <see cref="To"/> ("relabel" or "delete").</summary>
internal sealed record FolderChange(string Action, string From, string To);

/// <summary>
/// The write-ahead journal of <c>petsml review</c> (<c>.petsml-review/journal.jsonl</c> in the data folder, JSON lines):
/// each change is written as "planned" and flushed to disk before its file is moved, and as "done" after. A move is
/// one rename inside the folder, so after a kill at any point each change is either before or after, and
/// <see cref="Recover"/> (run on every start and every undo) reads which from the folder and writes it down. While
/// one review works on a folder it holds <c>.petsml-review/lock</c>, so a second one is refused.
/// </summary>
internal sealed class ReviewJournal : IDisposable
{
    public const string FolderName = ".petsml-review";
    public const string FileName = "journal.jsonl";
    /// <summary>Deleted photos go here (inside the data folder), under the apply's number: nothing is erased.</summary>
    public const string TrashFolderName = ".petsml-trash";
    /// <summary>A journal larger than this is not one petsml wrote in ordinary use; it is refused rather than read.</summary>
    const long MaxJournalBytes = 64L << 20;

    static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>One line of the journal.</summary>
    /// <param name="Apply">The apply's number (1, 2, ... in the folder's history).</param>
    /// <param name="Change">The change's index in its apply; null on a line about the whole apply.</param>
    /// <param name="Action">relabel or delete (on planned lines).</param>
    /// <param name="From">Where the photo was, relative to the data folder (on planned lines).</param>
    /// <param name="To">Where it goes (on planned lines).</param>
    /// <param name="Folders">The folders the move had to create, removed again by undo when empty (on planned lines).</param>
    /// <param name="Step">planned, done, before (recovery: the move had not happened), undo-planned, undone, complete, undo-complete.</param>
    internal sealed record Entry(int Apply, string Step, int? Change = null, string? Action = null, string? From = null, string? To = null,
        string[]? Folders = null);

    /// <summary>A change as the journal last left it.</summary>
    internal sealed class ChangeState(int apply, int change, string action, string from, string to, string[] folders)
    {
        public int Apply { get; } = apply;
        public int Change { get; } = change;
        public string Action { get; } = action;
        public string From { get; } = from;
        public string To { get; } = to;
        public string[] Folders { get; } = folders;
        public string Step { get; set; } = "planned";
    }

    readonly string _root;
    readonly string _path;
    readonly FileStream _lock;

    ReviewJournal(string root, FileStream lockFile)
    {
        _root = root;
        _path = Path.Combine(root, FolderName, FileName);
        _lock = lockFile;
    }

    /// <summary>Called after every journal line and every move: a test stops the process there to play a kill.</summary>
    public Action? AfterStep { get; set; }

    /// <summary>Opens the journal of <paramref name="root"/> and takes the folder's lock; 409 when another review holds it.</summary>
    public static ReviewJournal Open(string root)
    {
        var folder = Path.Combine(root, FolderName);
        if (ReviewPaths.ThroughLink(root, folder)) throw new ReviewException(400, $"'{folder}' is a link; refusing to write the journal through it.");
        Directory.CreateDirectory(folder);
        try { return new ReviewJournal(root, new FileStream(Path.Combine(folder, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
        catch (IOException)
        {
            throw new ReviewException(409, $"another 'petsml review' is working on '{root}' (it holds {Path.Combine(folder, "lock")}); stop it first.");
        }
    }

    public string JournalPath => _path;

    /// <summary>Every readable line; a torn last line (the process died while writing it, so its move never began) is dropped from the file.</summary>
    public IReadOnlyList<Entry> Read()
    {
        if (!File.Exists(_path)) return [];
        var info = new FileInfo(_path);
        if (info.LinkTarget is not null) throw new ReviewException(400, $"journal '{_path}' is a link; refusing to read it.");
        if (info.Length > MaxJournalBytes) throw new ReviewException(400, $"journal '{_path}' is {info.Length:N0} bytes (at most {MaxJournalBytes:N0}); move it away to start a new one.");
        var bytes = File.ReadAllBytes(_path);
        var entries = new List<Entry>();
        int start = 0, lineNumber = 0;
        while (start < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            lineNumber++;
            if (end < 0)
            {
                // No newline: the last write was cut short. Drop it so the next line starts cleanly.
                using var file = new FileStream(_path, FileMode.Open, FileAccess.Write);
                file.SetLength(start);
                file.Flush(flushToDisk: true);
                break;
            }
            try
            {
                entries.Add(JsonSerializer.Deserialize<Entry>(bytes.AsSpan(start, end - start), s_json)
                    ?? throw new JsonException("null"));
            }
            catch (JsonException e)
            {
                throw new ReviewException(400, $"journal '{_path}' line {lineNumber} is not a journal entry ({ReviewPaths.Printable(e.Message)}).");
            }
            start = end + 1;
        }
        return entries;
    }

    /// <summary>The changes of every apply, in order, as the journal last left them.</summary>
    public IReadOnlyList<ChangeState> Changes() => Changes(Read());

    static List<ChangeState> Changes(IReadOnlyList<Entry> entries)
    {
        var changes = new Dictionary<(int, int), ChangeState>();
        var order = new List<ChangeState>();
        foreach (var e in entries)
        {
            if (e.Change is not int index) continue;
            if (e.Step == "planned")
            {
                if (e.Action is null || e.From is null || e.To is null) throw new ReviewException(400, $"journal: apply {e.Apply} change {index} is planned without its paths.");
                var state = new ChangeState(e.Apply, index, e.Action, e.From, e.To, e.Folders ?? []);
                changes[(e.Apply, index)] = state;
                order.Add(state);
            }
            else if (changes.TryGetValue((e.Apply, index), out var state)) state.Step = e.Step;
        }
        return order;
    }

    /// <summary>
    /// Finds, for every change the journal left halfway (planned but not done, or undo-planned but not undone), whether
    /// its file was moved, and writes that down; closes every apply left open. Returns how many changes it settled.
    /// </summary>
    public int Recover()
    {
        var entries = Read();
        int settled = 0;
        foreach (var change in Changes(entries))
        {
            if (change.Step is not ("planned" or "undo-planned")) continue;
            bool fromExists = Exists(change.From), toExists = Exists(change.To);
            string step = (fromExists, toExists) switch
            {
                (false, true) => "done",
                (true, false) => change.Step == "planned" ? "before" : "undone",
                _ => throw new ReviewException(409, $"journal: apply {change.Apply} change {change.Change}: '{change.From}' and '{change.To}' " +
                    (fromExists ? "both exist" : "are both missing") + "; the folder was changed by something else. Put one of them back, then run again."),
            };
            Append(new Entry(change.Apply, step, change.Change));
            if (step == "undone") RemoveEmptyFolders(change.Folders);
            settled++;
        }
        var complete = entries.Where(e => e.Step == "complete").Select(e => e.Apply).ToHashSet();
        foreach (var apply in entries.Where(e => e.Change is not null).Select(e => e.Apply).Distinct().Where(a => !complete.Contains(a)))
            Append(new Entry(apply, "complete"));
        return settled;
    }

    /// <summary>Makes <paramref name="changes"/> as apply number (last + 1), each journaled before and after its move; returns that number.</summary>
    public int Apply(IReadOnlyList<FolderChange> changes)
    {
        var entries = Read();
        int apply = entries.Count == 0 ? 1 : entries.Max(e => e.Apply) + 1;
        try { ApplyEach(apply, changes); }
        catch (ReviewException)
        {
            Append(new Entry(apply, "complete")); // the changes before the refused one stay done, and undo reverts them
            throw;
        }
        Append(new Entry(apply, "complete"));
        return apply;
    }

    void ApplyEach(int apply, IReadOnlyList<FolderChange> changes)
    {
        for (int i = 0; i < changes.Count; i++)
        {
            var c = changes[i];
            string from = ReviewPaths.Full(_root, c.From), to = ReviewPaths.Full(_root, c.To, inTrash: true);
            if (!File.Exists(from) || ReviewPaths.ThroughLink(_root, from)) throw new ReviewException(409, $"'{c.From}' is no longer a plain file in the folder; nothing more was changed.");
            if (Exists(c.To) || ReviewPaths.ThroughLink(_root, to)) throw new ReviewException(409, $"'{c.To}' already exists; nothing more was changed.");
            var folders = MissingFolders(Path.GetDirectoryName(to)!);
            Append(new Entry(apply, "planned", i, c.Action, c.From, c.To, folders.Select(f => ReviewPaths.Relative(_root, f)).ToArray()));
            foreach (var folder in folders) Directory.CreateDirectory(folder);
            Move(from, to);
            Append(new Entry(apply, "done", i));
        }
    }

    /// <summary>Moves back every change of the last apply that is done (newest first); null when there is none.</summary>
    public (int Apply, IReadOnlyList<ChangeState> Reverted)? UndoLast()
    {
        Recover();
        var changes = Changes();
        var done = changes.Where(c => c.Step == "done").ToList();
        if (done.Count == 0) return null;
        int apply = done.Max(c => c.Apply);
        var reverted = new List<ChangeState>();
        foreach (var change in done.Where(c => c.Apply == apply).OrderByDescending(c => c.Change))
        {
            string from = ReviewPaths.Full(_root, change.From), to = ReviewPaths.Full(_root, change.To, inTrash: true);
            if (Exists(change.From)) throw new ReviewException(409, $"cannot undo apply {apply}: '{change.From}' exists again; move it away first (changes undone so far stay undone).");
            if (!File.Exists(to) || ReviewPaths.ThroughLink(_root, to)) throw new ReviewException(409, $"cannot undo apply {apply}: '{change.To}' is no longer a plain file in the folder.");
            Append(new Entry(apply, "undo-planned", change.Change));
            Move(to, from);
            Append(new Entry(apply, "undone", change.Change));
            RemoveEmptyFolders(change.Folders);
            reverted.Add(change);
        }
        Append(new Entry(apply, "undo-complete"));
        return (apply, reverted);
    }

    bool Exists(string relative)
    {
        var full = ReviewPaths.Full(_root, relative, inTrash: true);
        return File.Exists(full) || Directory.Exists(full) || new FileInfo(full).LinkTarget is not null;
    }

    /// <summary>The folders from the data folder down to <paramref name="folder"/> that do not exist yet, outermost first.</summary>
    List<string> MissingFolders(string folder)
    {
        var missing = new List<string>();
        var root = Path.TrimEndingDirectorySeparator(_root);
        for (var f = folder; f is not null && f.Length > root.Length && !Directory.Exists(f); f = Path.GetDirectoryName(f)) missing.Insert(0, f);
        return missing;
    }

    /// <summary>Removes the folders an apply created for a move, innermost first, when they are empty again.</summary>
    void RemoveEmptyFolders(string[] folders)
    {
        foreach (var relative in folders.Reverse())
        {
            var full = ReviewPaths.Full(_root, relative, inTrash: true);
            if (Directory.Exists(full) && !ReviewPaths.ThroughLink(_root, full) && !Directory.EnumerateFileSystemEntries(full).Any()) Directory.Delete(full);
        }
    }

    /// <summary>One rename(2): atomic inside the folder. The caller checked that nothing is at <paramref name="to"/>.</summary>
    void Move(string from, string to)
    {
        try { File.Move(from, to, overwrite: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReviewException(500, $"could not move '{ReviewPaths.Relative(_root, from)}' to '{ReviewPaths.Relative(_root, to)}' ({ReviewPaths.Printable(e.Message)}); the journal says where every change stands.");
        }
        AfterStep?.Invoke();
    }

    /// <summary>Appends one line and flushes it to disk before returning.</summary>
    void Append(Entry entry)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(entry, s_json).Concat("\n"u8.ToArray()).ToArray();
        using (var file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            file.Write(line);
            file.Flush(flushToDisk: true);
        }
        AfterStep?.Invoke();
    }

    public void Dispose() => _lock.Dispose();
}
