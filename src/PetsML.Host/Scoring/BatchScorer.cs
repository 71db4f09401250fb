using System.Diagnostics;
using System.Text;
using PetsML.Onnx.Scoring;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Presizing;
using TorchSharp;

namespace PetsML.Host.Scoring;

/// <summary>
/// Scores every image under a folder into a predictions CSV (see <see cref="PredictionsCsv"/>), in batches, with
/// memory bounded by the batch size whatever the number of files: only the file names are listed; each batch is
/// decoded, presized into one reused uint8 buffer, scored and appended (flushed) before the next is read.
/// </summary>
/// <remarks>
/// <para><b>Resuming.</b> Run again with the same output file after an interruption: a half-written last line is cut,
/// the rows already there are kept, and only the missing images are scored. Batches are cut from the sorted file list
/// at the same boundaries every run, and a batch with a missing row is scored whole again (writing only the missing
/// rows), so every image is scored in the same company as in an uninterrupted run and gets the same row.</para>
/// <para><b>Bad files</b> (undecodable, too large, names with a line break) are not written; they are counted, reported
/// through progress and listed in the result, and retried by a later run.</para>
/// </remarks>
internal static class BatchScorer
{
    /// <summary>Scores <paramref name="folder"/> (recursively) with <paramref name="classifier"/> into <paramref name="csvPath"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The CSV exists with another header.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; every row of the finished batches is on disk.</exception>
    public static BatchScoreResult ScoreFolder(IImageBatchClassifier classifier, string folder, string csvPath,
        BatchScoreOptions? options = null, IProgress<BatchScoreProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentException.ThrowIfNullOrWhiteSpace(csvPath);
        options ??= new BatchScoreOptions();
        options.Validate();
        var clock = Stopwatch.StartNew();
        var root = Path.GetFullPath(folder);
        var files = ImageFileListing.List(root, recursive: true).Files.OrderBy(f => f, StringComparer.Ordinal).ToArray();
        int topK = Math.Min(options.TopK, classifier.ClassNames.Count);
        var (written, repaired) = PredictionsCsv.OpenForResume(csvPath, PredictionsCsv.Header(topK));
        int alreadyWritten = written.Count;

        var presize = classifier.Preprocessing.Presize;
        int height = presize.TargetHeight, width = presize.TargetWidth, imageBytes = presize.OutputLength;
        var buffer = new byte[checked(options.BatchSize * imageBytes)];
        var bad = new List<BadImage>();
        int badCount = 0, writtenNow = 0, done = 0;
        using var output = new StreamWriter(new FileStream(csvPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { NewLine = "\n" };

        for (int start = 0; start < files.Length; start += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = files.AsSpan(start, Math.Min(options.BatchSize, files.Length - start)).ToArray();
            var relative = batch.Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).ToArray();
            if (relative.All(written.Contains))
            {
                done += batch.Length;
                continue;
            }

            // Decode and presize in parallel into the shared buffer; a bad file leaves its slot unused.
            var failures = new string?[batch.Length];
            Parallel.For(0, batch.Length, new ParallelOptions { MaxDegreeOfParallelism = options.DecodeThreads, CancellationToken = cancellationToken }, i =>
            {
                if (relative[i].AsSpan().IndexOfAny('\r', '\n') >= 0) { failures[i] = "the file name contains a line break"; return; }
                try
                {
                    var image = ImageDecoder.DecodeFile(batch[i], options.DecodeOptions);
                    Presizer.Presize(image, presize, PresizeGeometry.ValidationPct, PresizeGeometry.ValidationPct, buffer.AsSpan(i * imageBytes, imageBytes));
                }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
                {
                    failures[i] = e.Message;
                }
            });

            var good = Enumerable.Range(0, batch.Length).Where(i => failures[i] is null).ToArray();
            var newBad = Enumerable.Range(0, batch.Length).Where(i => failures[i] is not null).Select(i => new BadImage(batch[i], failures[i]!)).ToList();
            badCount += newBad.Count;
            bad.AddRange(newBad.Take(Math.Max(0, options.MaxBadFilesListed - bad.Count)));
            if (good.Length > 0)
            {
                var scores = Score(classifier, buffer, good, imageBytes, height, width);
                for (int g = 0; g < good.Length; g++)
                {
                    var path = relative[good[g]];
                    if (written.Contains(path)) continue;
                    output.WriteLine(PredictionsCsv.Row(path, classifier.ClassNames, scores.Probabilities[g], topK, scores.OutlierScores?[g], classifier.UnknownThreshold));
                    written.Add(path);
                    writtenNow++;
                }
                output.Flush();
            }
            done += batch.Length;
            progress?.Report(new BatchScoreProgress(done, files.Length, badCount, writtenNow / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), newBad));
        }
        return new BatchScoreResult(Path.GetFullPath(csvPath), files.Length, writtenNow, alreadyWritten, badCount, bad, repaired, clock.Elapsed);
    }

    /// <summary>The good slots of the buffer as one [n, 3, H, W] uint8 batch (compacted in place), scored.</summary>
    private static ImageBatchScores Score(IImageBatchClassifier classifier, byte[] buffer, int[] good, int imageBytes, int height, int width)
    {
        for (int g = 0; g < good.Length; g++)
            if (good[g] != g) Buffer.BlockCopy(buffer, good[g] * imageBytes, buffer, g * imageBytes, imageBytes);
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(buffer.AsSpan(0, good.Length * imageBytes).ToArray(), [good.Length, 3, height, width], dtype: torch.uint8);
        return classifier.Predict(batch);
    }
}
