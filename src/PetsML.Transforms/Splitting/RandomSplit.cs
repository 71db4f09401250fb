using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Interop.Torch;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Splitting;
using TorchSharp;

namespace PetsML;

/// <summary>Options of <see cref="RandomSplitEstimator"/>: fastai's <c>RandomSplitter(valid_pct=0.2, seed=42)</c>.</summary>
internal sealed class RandomSplitOptions
{
    /// <summary>The Single column written: 1 for validation rows, 0 for training rows. Default "IsValidation".</summary>
    public string OutputColumnName { get; set; } = PetsColumnNames.IsValidation;

    /// <summary>The text column that identifies a row (the image path). Default "ImagePath".</summary>
    public string KeyColumnName { get; set; } = PetsColumnNames.ImagePath;

    /// <summary>Fraction of rows that go to validation, in [0, 1). Default 0.2.</summary>
    public double ValidPct { get; set; } = 0.2;

    /// <summary>Seed of the permutation. Default 42.</summary>
    public int Seed { get; set; } = 42;

    internal void Validate()
    {
        if (ValidPct is < 0 or >= 1 || double.IsNaN(ValidPct))
            throw new ArgumentOutOfRangeException(nameof(ValidPct), ValidPct, "ValidPct must be in [0, 1).");
        if (string.IsNullOrWhiteSpace(OutputColumnName))
            throw new ArgumentException("OutputColumnName must not be empty.", nameof(OutputColumnName));
        if (string.IsNullOrWhiteSpace(KeyColumnName))
            throw new ArgumentException("KeyColumnName must not be empty.", nameof(KeyColumnName));
    }
}

/// <summary>
/// A seeded random train/validation split as a column, like fastai's RandomSplitter: a permutation of
/// the n rows (libtorch's <c>randperm</c> with a generator seeded by <see cref="RandomSplitOptions.Seed"/>,
/// the same algorithm fastai uses), the first <c>int(ValidPct·n)</c> permuted rows are validation.
/// </summary>
/// <remarks>
/// The split depends on the row order. <c>mlContext.Data.LoadImageFiles</c> sorts files ordinally, so
/// the split is identical on every run and operating system (fastai's listing is in directory order,
/// which is not). Fit records which keys are validation, as paths relative to the folder that holds all
/// the keys it saw (<see cref="RelativeKeys"/>); the transformer looks rows up by those, so a saved pipeline
/// gives the same split again, also when the photos have moved (another machine, a copied folder), and
/// rows it never saw are training rows.
/// </remarks>
public sealed class RandomSplitEstimator : IEstimator<RandomSplitTransformer>
{
    readonly RandomSplitOptions _options;

    internal RandomSplitEstimator(RandomSplitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public RandomSplitTransformer Fit(IDataView input)
    {
        var keyColumn = SchemaShapes.Require(input.Schema, _options.KeyColumnName, "text", t => t is TextDataViewType);
        var keys = new List<string>();
        using (var cursor = input.GetRowCursor(new[] { keyColumn }))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(keyColumn);
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                keys.Add(value.ToString());
            }
        }
        var (root, relative) = RelativeKeys.Of(keys);
        var validation = new HashSet<string>(StringComparer.Ordinal);
        foreach (var index in ValidationIndices(keys.Count, _options.ValidPct, _options.Seed))
            validation.Add(relative[index]);
        return new RandomSplitTransformer(_options.OutputColumnName, _options.KeyColumnName, root, validation);
    }

    /// <summary>fastai's RandomSplitter on n items: the validation indices in permutation order.</summary>
    public static int[] ValidationIndices(int n, double validPct, int seed)
    {
        if (n == 0) return Array.Empty<int>();
        NativeTorchRuntime.EnsureLoaded();
        using var generator = new torch.Generator((ulong)seed);
        using var permutation = torch.randperm(n, generator: generator, dtype: torch.int64);
        int cut = (int)(validPct * n);
        return permutation.data<long>().Take(cut).Select(i => (int)i).ToArray();
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, _options.KeyColumnName, "text",
            c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.ItemType is TextDataViewType);
        return SchemaShapes.With(inputSchema, SchemaShapes.Scalar(_options.OutputColumnName, NumberDataViewType.Single));
    }
}

/// <summary>Maps a row's key (image path) to 1 (validation) or 0 (training).</summary>
public sealed class RandomSplitTransformer : RowMappingTransformer
{
    // 0x00010002: keys relative to the folder of all fitted keys, and that folder (0x00010001: absolute keys, no folder).
    internal static readonly ModelVersion Version = new("PETSSPLT", 0x00010002, 0x00010002, 0x00010001,
        "PetsMLRandomSplit", typeof(RandomSplitTransformer).Assembly);

    readonly HashSet<string> _validationKeys;
    readonly string _root;

    internal RandomSplitTransformer(string outputColumnName, string keyColumnName, string root, HashSet<string> validationKeys)
    {
        _root = root;
        OutputColumnName = outputColumnName;
        KeyColumnName = keyColumnName;
        // Rows are looked up with '\' read as '/' (RelativeKeys.Matches), so the stored keys are too: Fit's already
        // are, but format 0x00010001 saved whole paths as they were read, Windows ones with '\'.
        _validationKeys = validationKeys.Any(k => k.Contains('\\'))
            ? new HashSet<string>(validationKeys.Select(k => k.Replace('\\', '/')), StringComparer.Ordinal)
            : validationKeys;
    }

    public string OutputColumnName { get; }
    public string KeyColumnName { get; }

    /// <summary>The keys (image paths, relative to the folder of all fitted keys) that are validation rows.</summary>
    public IReadOnlyCollection<string> ValidationKeys => _validationKeys;

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        SchemaShapes.Require(inputSchema, KeyColumnName, "text", t => t is TextDataViewType);
        return new[] { new DataViewSchema.DetachedColumn(OutputColumnName, NumberDataViewType.Single) };
    }

    protected override IEnumerable<string> GetInputColumnNames() => new[] { KeyColumnName };

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var keyGetter = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[KeyColumnName]);
        ReadOnlyMemory<char> key = default;
        var lookup = _validationKeys.GetAlternateLookup<ReadOnlySpan<char>>();
        ValueGetter<float> getter = (ref float value) =>
        {
            keyGetter(ref key);
            value = RelativeKeys.Matches(lookup, _root, key.Span) ? 1f : 0f;
        };
        return new Delegate[] { getter };
    }

    public override void Save(ModelSaveContext ctx)
    {
        var writer = MlNetInternals.BeginSave(ctx, Version);
        writer.Write(OutputColumnName);
        writer.Write(KeyColumnName);
        writer.Write(_validationKeys.Count);
        foreach (var key in _validationKeys.Order(StringComparer.Ordinal))
            writer.Write(key);
        writer.Write(_root);
    }

    internal static RandomSplitTransformer Load(IHostEnvironment env, MlNetInternals.ModelLoadReader ctx)
    {
        var reader = ctx.Reader;
        var output = reader.ReadString();
        var key = reader.ReadString();
        int count = ModelFileLimits.Count(reader, "RandomSplit", "validation keys", ModelFileLimits.MaxSplitKeys, nameof(ModelFileLimits.MaxSplitKeys));
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++) keys.Add(reader.ReadString());
        var root = ctx.VersionWritten >= 0x00010002 ? reader.ReadString() : "";
        return new RandomSplitTransformer(output, key, root, keys);
    }
}
