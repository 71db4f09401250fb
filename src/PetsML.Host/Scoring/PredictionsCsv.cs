using System.Globalization;
using System.Text;

namespace PetsML.Host.Scoring;

/// <summary>
/// The predictions file of <see cref="BatchScorer"/>: <c>path,label,probability,label_2,probability_2,...,outlier_score,unknown</c>,
/// one row per image (path relative to the scored folder, '/'-separated), RFC 4180 quoting. <c>outlier_score</c> is the
/// model's OutlierScore and <c>unknown</c> is <c>true</c> when it is above the model's threshold (the photo is none of
/// the classes; <c>label</c> is then the closest class); both are empty for a model trained before calibration. Appending after an interruption:
/// a last line without its newline is cut, and the paths already present are skipped.
/// </summary>
internal static class PredictionsCsv
{
    internal static string Header(int topK)
    {
        var columns = new List<string> { "path", "label", "probability" };
        for (int k = 2; k <= topK; k++) columns.Add($"label_{k}", $"probability_{k}");
        columns.Add("outlier_score", "unknown");
        return string.Join(',', columns);
    }

    private static void Add(this List<string> list, string a, string b)
    {
        list.Add(a);
        list.Add(b);
    }

    internal static string Row(string relativePath, IReadOnlyList<string> classNames, float[] probabilities, int topK, float? outlierScore = null, float? threshold = null)
    {
        var order = Enumerable.Range(0, probabilities.Length).OrderByDescending(i => probabilities[i]).ThenBy(i => i).Take(topK);
        var fields = new List<string> { Quote(relativePath) };
        foreach (var i in order)
        {
            fields.Add(Quote(classNames[i]));
            fields.Add(probabilities[i].ToString("0.000000", CultureInfo.InvariantCulture));
        }
        fields.Add(outlierScore is { } score ? score.ToString("0.000000", CultureInfo.InvariantCulture) : "");
        fields.Add(outlierScore is { } s && threshold is { } t ? (s > t ? "true" : "false") : "");
        return string.Join(',', fields);
    }

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : field;

    /// <summary>
    /// Prepares <paramref name="csvPath"/> for appending: cuts a half-written last line, checks the header, and returns the
    /// paths already written. A missing or empty file gets the header.
    /// </summary>
    internal static (HashSet<string> Written, bool Repaired) OpenForResume(string csvPath, string header)
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        bool repaired = false;
        using (var stream = new FileStream(csvPath, FileMode.OpenOrCreate, FileAccess.ReadWrite))
        {
            if (stream.Length > 0)
            {
                stream.Seek(-1, SeekOrigin.End);
                if (stream.ReadByte() != '\n')
                {
                    stream.SetLength(LastNewlineEnd(stream));
                    repaired = true;
                }
            }
            if (stream.Length == 0)
            {
                var bytes = Encoding.UTF8.GetBytes(header + "\n");
                stream.Write(bytes);
                return (written, repaired);
            }
        }
        using var reader = new StreamReader(csvPath, new UTF8Encoding(false));
        var first = reader.ReadLine();
        if (first != header)
            throw new InvalidDataException(
                $"{csvPath}: its header is '{first}', expected '{header}'. It is not a predictions file of this kind (or was written with another --top-k); choose another output file.");
        for (string? line; (line = reader.ReadLine()) is not null;)
            if (line.Length > 0) written.Add(FirstField(line));
        return (written, repaired);
    }

    /// <summary>The offset just after the last '\n' (0 when there is none).</summary>
    private static long LastNewlineEnd(FileStream stream)
    {
        var buffer = new byte[64 * 1024];
        long end = stream.Length;
        while (end > 0)
        {
            int count = (int)Math.Min(buffer.Length, end);
            stream.Seek(end - count, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, count);
            int index = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (index >= 0) return end - count + index + 1;
            end -= count;
        }
        return 0;
    }

    private static string FirstField(string line)
    {
        if (!line.StartsWith('"')) return line.Split(',', 2)[0];
        var field = new StringBuilder();
        for (int i = 1; i < line.Length; i++)
        {
            if (line[i] != '"') { field.Append(line[i]); continue; }
            if (i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; continue; }
            break;
        }
        return field.ToString();
    }
}
