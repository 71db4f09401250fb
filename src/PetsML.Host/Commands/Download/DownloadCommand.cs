using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Host.Download;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Download;

/// <summary>
/// <c>petsml download pets</c>: fastai's <c>untar_data(URLs.PETS)</c>. Fetches the archive into the data cache (resuming
/// a partial download), checks its size and, when given, its SHA-256, and extracts it safely to
/// <c>CACHE/oxford-iiit-pet</c>. An existing extracted folder is reused.
/// </summary>
public sealed class DownloadCommand(HostConsole console) : Command<DownloadCommand.Settings>
{
    /// <summary>fastai's URLs.PETS.</summary>
    public const string PetsUrl = "https://s3.amazonaws.com/fast-ai-imageclas/oxford-iiit-pet.tgz";

    /// <summary>Environment variable that replaces the archive's address (tests, mirrors).</summary>
    public const string UrlVariable = "PETSML_PETS_URL";

    public sealed class Settings : HostSettings
    {
        [CommandArgument(0, "<DATASET>")]
        [Description("The data set: pets (the Oxford-IIIT Pet archive, about 800 MB).")]
        public string Dataset { get; set; } = "";

        [CommandOption("--dest <DIR>")]
        [Description("Cache folder. Default: $PETSML_DATA, else $XDG_CACHE_HOME/petsml/data, else ~/.cache/petsml/data.")]
        public string? Dest { get; set; }

        [CommandOption("--sha256 <HEX>")]
        [Description("Expected SHA-256 of the archive (64 hex digits). Without it a sidecar file ARCHIVE.sha256 in the cache folder is used if present; else the hash is only printed.")]
        public string? Sha256 { get; set; }

        [CommandOption("--max-extract-bytes <BYTES>")]
        [Description("Refuse an archive whose files add up to more than this many bytes. Default: 2147483648 (2 GiB; the pets archive holds about 800 MB).")]
        [DefaultValue(ArchiveLimits.DefaultMaxBytes)]
        public long MaxExtractBytes { get; set; } = ArchiveLimits.DefaultMaxBytes;

        [CommandOption("--max-entries <N>")]
        [Description("Refuse an archive with more than this many entries (files and folders). Default: 40000 (the pets archive has about 18,500).")]
        [DefaultValue(ArchiveLimits.DefaultMaxEntries)]
        public int MaxEntries { get; set; } = ArchiveLimits.DefaultMaxEntries;

        [CommandOption("--url <URL>", IsHidden = true)]
        [Description("Download from this address instead (tests, mirrors); also $PETSML_PETS_URL.")]
        public string? Url { get; set; }

        public override ValidationResult Validate()
        {
            if (!Dataset.Equals("pets", StringComparison.OrdinalIgnoreCase))
                return ValidationResult.Error($"DATASET must be 'pets'; got '{Dataset}'.");
            if (Sha256 is not null && !(Sha256.Length == 64 && Sha256.All(Uri.IsHexDigit)))
                return ValidationResult.Error($"--sha256 must be 64 hex digits; got '{Sha256}'.");
            if (Url is not null && !(Uri.TryCreate(Url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)))
                return ValidationResult.Error($"--url must be an absolute http(s) address; got '{Url}'.");
            if (MaxExtractBytes < 0) return ValidationResult.Error($"--max-extract-bytes must be at least 0; got {MaxExtractBytes}.");
            if (MaxEntries < 0) return ValidationResult.Error($"--max-entries must be at least 0; got {MaxEntries}.");
            if (Dest is not null && string.IsNullOrWhiteSpace(Dest)) return ValidationResult.Error("--dest must name a folder.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var url = new Uri(settings.Url ?? Environment.GetEnvironmentVariable(UrlVariable) ?? PetsUrl);
        var cache = DataCache.Resolve(settings.Dest);
        var archiveName = Path.GetFileName(url.AbsolutePath) is { Length: > 0 } n ? n : "oxford-iiit-pet.tgz";
        var archive = Path.Combine(cache, archiveName);
        var folder = Path.Combine(cache, StemOf(archiveName));

        if (Directory.Exists(folder))
        {
            human.MarkupLineInterpolated($"Already there: {folder}");
            Report(settings, folder, archive, null);
            return ExitCodes.Success;
        }

        string? expected = settings.Sha256;
        var sidecar = archive + ".sha256";
        if (expected is null && File.Exists(sidecar))
        {
            expected = File.ReadAllText(sidecar).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (expected is null || !(expected.Length == 64 && expected.All(Uri.IsHexDigit)))
                throw new BadInputException($"{sidecar}: expected a SHA-256 (64 hex digits) as its first word.");
        }

        DownloadResult? result = null;
        if (File.Exists(archive))
        {
            human.MarkupLineInterpolated($"Archive already downloaded: {archive}");
            if (expected is not null)
            {
                var sha = ReadSha(archive, cancellationToken);
                if (!sha.Equals(expected, StringComparison.OrdinalIgnoreCase))
                    throw new BadInputException($"sha256 mismatch for {archive}: expected {expected.ToLowerInvariant()}, got {sha}. Delete it and run again.");
            }
        }
        else
        {
            human.MarkupLineInterpolated($"Downloading {url} to {archive}");
            using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) };
            using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            var downloader = new ResumableDownloader(http);
            var progress = new DownloadProgressDisplay(console.Error, archiveName);
            try
            {
                result = progress.Run(p => downloader.DownloadAsync(url, archive, expected, p, cancellationToken).GetAwaiter().GetResult());
            }
            catch (OfflineException e) { throw new BadInputException(e.Message, e); }
            catch (InvalidDataException e) { throw new BadInputException(e.Message, e); }
            catch (IOException e) when (e is not FileNotFoundException) { throw new BadInputException(e.Message, e); }
            human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Bytes:N0} bytes{(result.ResumedFrom > 0 ? $" (resumed at {result.ResumedFrom:N0})" : "")}, size matches the server's; sha256 {result.Sha256}{(result.Sha256Verified ? " (verified)" : " (not checked: give --sha256 to check)")}"));
        }

        human.MarkupLineInterpolated($"Extracting to {folder}");
        int files;
        try { files = SafeTarExtractor.ExtractTarGz(archive, folder, new ArchiveLimits { MaxBytes = settings.MaxExtractBytes, MaxEntries = settings.MaxEntries }, cancellationToken); }
        catch (InvalidDataException e) { throw new BadInputException(e.Message, e); }
        human.MarkupLineInterpolated($"{files} files in {folder}");
        Report(settings, folder, archive, result);
        return ExitCodes.Success;
    }

    void Report(Settings settings, string folder, string archive, DownloadResult? result)
    {
        if (!settings.Json) return;
        console.WriteJson(new
        {
            command = "download",
            dataset = "pets",
            path = folder,
            images = Path.Combine(folder, "images"),
            archive,
            bytes = result?.Bytes,
            sha256 = result?.Sha256,
            sha256Verified = result?.Sha256Verified,
        });
    }

    static string ReadSha(string path, CancellationToken ct) => ResumableDownloader.Sha256Async(path, ct).GetAwaiter().GetResult();

    static string StemOf(string archiveName)
    {
        foreach (var ext in new[] { ".tar.gz", ".tgz" })
            if (archiveName.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return archiveName[..^ext.Length];
        return Path.GetFileNameWithoutExtension(archiveName);
    }

    /// <summary>A byte progress bar on a terminal; plain lines (every 5 s and at the end) otherwise.</summary>
    sealed class DownloadProgressDisplay(IAnsiConsole console, string name)
    {
        readonly bool _live = console.Profile.Capabilities.Interactive;

        public T Run<T>(Func<IProgress<DownloadProgress>, T> work)
        {
            if (!_live)
            {
                var sinceLine = Stopwatch.StartNew();
                DownloadProgress last = default;
                var plain = new SyncProgress(p =>
                {
                    last = p;
                    if (sinceLine.Elapsed < TimeSpan.FromSeconds(5)) return;
                    sinceLine.Restart();
                    console.WriteLine(Describe(p));
                });
                var result = work(plain);
                console.WriteLine(Describe(last));
                return result;
            }
            T value = default!;
            console.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(name), maxValue: 1);
                    value = work(new SyncProgress(p =>
                    {
                        if (p.TotalBytes is { } total) task.MaxValue = total; else task.IsIndeterminate = true;
                        task.Value = p.Bytes;
                    }));
                    task.StopTask();
                });
            return value;
        }

        string Describe(DownloadProgress p) => string.Create(CultureInfo.InvariantCulture,
            $"{name}: {p.Bytes / 1e6:0.0} MB{(p.TotalBytes is { } t ? $" of {t / 1e6:0.0} MB ({100.0 * p.Bytes / Math.Max(1, t):0}%)" : "")}, {p.BytesPerSecond / 1e6:0.0} MB/s");
    }

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
    sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
