using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Labeling;

namespace PetsML;

/// <summary>What to do with files whose label cannot be read at fit time.</summary>
public enum UnlabeledFiles
{
    /// <summary>Fail, listing the first few such files and their count (the default, like fastai).</summary>
    Error,
    /// <summary>Keep going; those rows get a missing label and the count is in <see cref="FileLabelTransformer.UnlabeledCount"/>.</summary>
    Skip,
}

/// <summary>Options shared by <c>LabelFromFileName</c> and <c>LabelFromFolderName</c>.</summary>
internal sealed class FileLabelOptions
{
    /// <summary>The key column written; its key values are the class names in ordinal order. Default "Label".</summary>
    public string OutputColumnName { get; set; } = PetsColumnNames.Label;

    /// <summary>The text column holding the image path. Default "ImagePath".</summary>
    public string PathColumnName { get; set; } = PetsColumnNames.ImagePath;

    /// <summary>
    /// The regex applied (search semantics) to the file name only, for <c>LabelFromFileName</c>:
    /// the group named "label" if present, else group 1. Default <see cref="RegexLabeler.OxfordPetsPattern"/>,
    /// the fastai book's <c>(.+)_\d+.jpg$</c>.
    /// </summary>
    public string Pattern { get; set; } = RegexLabeler.OxfordPetsPattern;

    /// <summary>What to do with files whose label cannot be read. Default <see cref="UnlabeledFiles.Error"/>.</summary>
    public UnlabeledFiles Unlabeled { get; set; } = UnlabeledFiles.Error;
}

/// <summary>Where a label comes from.</summary>
internal enum LabelSource
{
    /// <summary>A regex on the file name (fastai's <c>using_attr(RegexLabeller(pat), 'name')</c>).</summary>
    FileNameRegex,
    /// <summary>The name of the folder that holds the file (ImageNet-style folders, fastai's <c>parent_label</c>).</summary>
    ParentFolder,
}

/// <summary>
/// Reads each image's class from its path and encodes it as a key, like fastai's labeller followed by
/// <c>Categorize</c>: Fit collects the vocabulary (distinct labels sorted ordinally, so capitalised cat
/// breeds come before lowercase dog breeds, exactly as fastai's sorted vocab).
/// </summary>
/// <remarks>The vocabulary is built from all rows given to Fit (fastai uses the training split only; the two
/// differ only when a class appears in validation alone).</remarks>
public sealed class FileLabelEstimator : IEstimator<FileLabelTransformer>
{
    const int ListedExamples = 5;
    readonly FileLabelOptions _options;
    readonly LabelSource _source;

    internal FileLabelEstimator(FileLabelOptions options, LabelSource source)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _source = source;
        _ = FileLabelTransformer.MakeLabeler(source, options.Pattern); // validates the pattern now, naming it
    }

    public FileLabelTransformer Fit(IDataView input)
    {
        var pathColumn = SchemaShapes.Require(input.Schema, _options.PathColumnName, "text", t => t is TextDataViewType);
        var labelOf = FileLabelTransformer.MakeLabeler(_source, _options.Pattern);
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var unlabeled = new List<string>();
        using (var cursor = input.GetRowCursor(new[] { pathColumn }))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(pathColumn);
            ReadOnlyMemory<char> path = default;
            while (cursor.MoveNext())
            {
                getter(ref path);
                var text = path.ToString();
                if (labelOf(text) is { } label) labels.Add(label);
                else unlabeled.Add(text);
            }
        }
        if (unlabeled.Count > 0 && _options.Unlabeled == UnlabeledFiles.Error)
        {
            var what = _source == LabelSource.FileNameRegex ? $"do not match the label pattern '{_options.Pattern}'" : "have no parent folder";
            var examples = string.Join(", ", unlabeled.Take(ListedExamples).Select(Path.GetFileName));
            throw new InvalidDataException(
                $"{unlabeled.Count} file name(s) {what}, for example: {examples}. Fix the pattern (FileLabelOptions.Pattern) " +
                $"or set FileLabelOptions.Unlabeled = UnlabeledFiles.Skip to leave them unlabeled.");
        }
        if (labels.Count == 0)
            throw new InvalidDataException($"No labels found: column '{_options.PathColumnName}' has no rows.");
        var vocabulary = Vocabulary.Build(labels).Labels;
        return new FileLabelTransformer(_options.OutputColumnName, _options.PathColumnName, _source, _options.Pattern, vocabulary, unlabeled.Count);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, _options.PathColumnName, "text",
            c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.ItemType is TextDataViewType);
        return SchemaShapes.With(inputSchema,
            SchemaShapes.Scalar(_options.OutputColumnName, NumberDataViewType.UInt32, isKey: true, SchemaShapes.KeyValuesAnnotation()));
    }
}

/// <summary>Maps an image path to its class key (0 = missing: no label, or a label outside the vocabulary).</summary>
public sealed class FileLabelTransformer : RowMappingTransformer
{
    internal static readonly ModelVersion Version = new("PETSLABL", 0x00010001, 0x00010001, 0x00010001,
        "PetsMLFileLabel", typeof(FileLabelTransformer).Assembly);

    readonly Func<string, string?> _labelOf;
    readonly Dictionary<string, uint> _keys;

    internal FileLabelTransformer(string outputColumnName, string pathColumnName, LabelSource source, string pattern,
        IReadOnlyList<string> vocabulary, int unlabeledCount)
    {
        OutputColumnName = outputColumnName;
        PathColumnName = pathColumnName;
        Source = source;
        Pattern = pattern;
        Vocabulary = vocabulary;
        UnlabeledCount = unlabeledCount;
        _labelOf = MakeLabeler(source, pattern);
        _keys = vocabulary.Select((label, i) => (label, i)).ToDictionary(x => x.label, x => (uint)x.i + 1, StringComparer.Ordinal);
    }

    public string OutputColumnName { get; }
    public string PathColumnName { get; }
    internal LabelSource Source { get; }
    public string Pattern { get; }

    /// <summary>The class names in key order (ordinal sort).</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>How many rows had no readable label at fit time (only non-zero with <see cref="UnlabeledFiles.Skip"/>).</summary>
    public int UnlabeledCount { get; }

    /// <summary>The class index (0-based) for a path, or null when it has none in the vocabulary.</summary>
    public int? ClassIndexOf(string path)
        => _labelOf(path) is { } label && _keys.TryGetValue(label, out var key) ? (int)key - 1 : null;

    internal static Func<string, string?> MakeLabeler(LabelSource source, string pattern)
    {
        switch (source)
        {
            case LabelSource.FileNameRegex:
                var regex = new RegexLabeler(pattern);
                return path => regex.TryLabel(path, out var label) ? label : null;
            case LabelSource.ParentFolder:
                var folder = new FolderLabeler();
                return path => folder.TryLabel(path, out var label) ? label : null;
            default:
                throw new ArgumentOutOfRangeException(nameof(source), source, "Unknown label source.");
        }
    }

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        SchemaShapes.Require(inputSchema, PathColumnName, "text", t => t is TextDataViewType);
        var annotations = new DataViewSchema.Annotations.Builder();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> keyValues = (ref VBuffer<ReadOnlyMemory<char>> value)
            => value = new VBuffer<ReadOnlyMemory<char>>(Vocabulary.Count, Vocabulary.Select(v => v.AsMemory()).ToArray());
        annotations.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, Vocabulary.Count), keyValues);
        return new[] { new DataViewSchema.DetachedColumn(OutputColumnName, new KeyDataViewType(typeof(uint), Vocabulary.Count), annotations.ToAnnotations()) };
    }

    protected override IEnumerable<string> GetInputColumnNames() => new[] { PathColumnName };

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var pathGetter = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[PathColumnName]);
        ReadOnlyMemory<char> path = default;
        ValueGetter<uint> getter = (ref uint value) =>
        {
            pathGetter(ref path);
            value = _labelOf(path.ToString()) is { } label && _keys.TryGetValue(label, out var key) ? key : 0;
        };
        return new Delegate[] { getter };
    }

    public override void Save(ModelSaveContext ctx)
    {
        var writer = MlNetInternals.BeginSave(ctx, Version);
        writer.Write(OutputColumnName);
        writer.Write(PathColumnName);
        writer.Write((int)Source);
        writer.Write(Pattern);
        writer.Write(UnlabeledCount);
        writer.Write(Vocabulary.Count);
        foreach (var label in Vocabulary) writer.Write(label);
    }

    internal static FileLabelTransformer Load(IHostEnvironment env, MlNetInternals.ModelLoadReader ctx)
    {
        var reader = ctx.Reader;
        var output = reader.ReadString();
        var path = reader.ReadString();
        const string step = "LabelFromFileName/LabelFromFolder";
        var source = ModelFileLimits.Defined<LabelSource>(reader.ReadInt32(), step, "label source");
        var pattern = reader.ReadString();
        int unlabeled = reader.ReadInt32();
        if (unlabeled < 0) throw ModelFileLimits.Bad(step, $"declares {unlabeled:N0} unlabeled rows");
        var vocabulary = new string[ModelFileLimits.Count(reader, step, "labels", ModelFileLimits.MaxLabels, nameof(ModelFileLimits.MaxLabels))];
        for (int i = 0; i < vocabulary.Length; i++) vocabulary[i] = reader.ReadString();
        return new FileLabelTransformer(output, path, source, pattern, vocabulary, unlabeled);
    }
}
