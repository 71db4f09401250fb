using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Pipeline;
using TorchSharp;
using PetsML.Transforms.Augmentation;

namespace PetsML;

/// <summary>
/// fastai's batch transforms <c>aug_transforms(size=224, min_scale=0.75)</c> plus <c>Normalize</c>, as an
/// ML.NET estimator: presized bytes 3×S×S in, normalised floats 3×Size×Size out.
/// </summary>
/// <remarks>
/// Through ML.NET (<c>Transform</c>, <c>PredictionEngine</c>, after <c>Model.Load</c>) only the deterministic
/// validation path runs, so a prediction sees exactly what validation saw. During training the trainer
/// calls <see cref="AugmentTransformer.Augmenter"/> on whole batches and draws the random path afresh for
/// every batch of every epoch.
/// </remarks>
public sealed class AugmentEstimator : IEstimator<AugmentTransformer>
{
    readonly string _outputColumnName;
    readonly string _inputColumnName;
    readonly AugmentOptions _options;

    public AugmentEstimator(string outputColumnName, string inputColumnName, AugmentOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        _options = options?.Clone() ?? new AugmentOptions();
        _options.Validate();
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName;
    }

    /// <summary>
    /// Nothing to learn: checks the input column and returns a new transformer (each owns its augmenter's buffer,
    /// so disposing one fitted pipeline does not break another).
    /// </summary>
    public AugmentTransformer Fit(IDataView input)
    {
        AugmentTransformer.CheckInput(input.Schema.GetColumnOrNull(_inputColumnName), _inputColumnName);
        return new AugmentTransformer(_outputColumnName, _inputColumnName, _options);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, _inputColumnName, AugmentTransformer.ExpectedInput,
            c => c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == NumberDataViewType.Byte);
        return SchemaShapes.With(inputSchema, SchemaShapes.Vector(_outputColumnName, NumberDataViewType.Single));
    }
}

/// <summary>Applies the validation path of the batch augmentation to each row; see <see cref="AugmentEstimator"/>.</summary>
public sealed class AugmentTransformer : RowMappingTransformer, IDisposable
{
    internal const string ExpectedInput = "presized image bytes, a known-size vector of Byte 3×H×W (mlContext.Transforms.Presize)";
    internal static readonly ModelVersion Version = new("PETSAUGM", 0x00010001, 0x00010001, 0x00010001,
        "PetsMLAugment", typeof(AugmentTransformer).Assembly);

    internal AugmentTransformer(string outputColumnName, string inputColumnName, AugmentOptions options)
    {
        if (string.IsNullOrWhiteSpace(outputColumnName)) throw new ArgumentException("The output column name must not be empty.", nameof(outputColumnName));
        if (string.IsNullOrWhiteSpace(inputColumnName)) throw new ArgumentException("The input column name must not be empty.", nameof(inputColumnName));
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Augmenter = new BatchAugmenter(options);
        Lifetime = new SharedLifetime();
    }

    public string OutputColumnName { get; }
    public string InputColumnName { get; }

    /// <summary>The whole-batch augmentation (training and validation paths), for the trainer's batch source.</summary>
    internal BatchAugmenter Augmenter { get; }

    public AugmentOptions Options => Augmenter.Options;

    internal static (int Height, int Width) CheckInput(DataViewSchema.Column? column, string name)
    {
        if (column is null)
            throw new ArgumentOutOfRangeException(name, $"Input column '{name}' not found; expected {ExpectedInput}.");
        if (column.Value.Type is VectorDataViewType { ItemType: var item } v && item == NumberDataViewType.Byte
            && v.Dimensions.Length == 3 && v.Dimensions[0] == 3 && v.Dimensions[1] > 0 && v.Dimensions[2] > 0)
            return (v.Dimensions[1], v.Dimensions[2]);
        throw new ArgumentOutOfRangeException(name, $"Schema mismatch for input column '{name}': expected {ExpectedInput}, got {column.Value.Type}.");
    }

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        CheckInput(inputSchema.GetColumnOrNull(InputColumnName), InputColumnName);
        int size = Options.Size;
        return new[]
        {
            new DataViewSchema.DetachedColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, 3, size, size),
                ImageStepAnnotations.Describe(ImageStepAnnotations.Augment, w => { AugmentOptionsFormat.Write(w, Options); w.Write(InputColumnName); })),
        };
    }

    protected override IEnumerable<string> GetInputColumnNames() => new[] { InputColumnName };

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var (height, width) = CheckInput(input.Schema.GetColumnOrNull(InputColumnName), InputColumnName);
        var imageGetter = input.GetGetter<VBuffer<byte>>(input.Schema[InputColumnName]);
        VBuffer<byte> image = default;
        long cachedPosition = -1;
        float[]? cached = null;
        ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
        {
            if (cachedPosition != input.Position || cached is null)
            {
                imageGetter(ref image);
                cached = ValidationOf(image.ToDenseArray(), height, width);
                cachedPosition = input.Position;
            }
            var editor = VBufferEditor.Create(ref value, cached.Length);
            cached.CopyTo(editor.Values);
            value = editor.Commit();
        };
        return new Delegate[] { getter };
    }

    float[] ValidationOf(byte[] chw, int height, int width)
    {
        using var scope = torch.NewDisposeScope();
        var batch = torch.tensor(chw, new long[] { 1, 3, height, width }, dtype: torch.uint8);
        return Augmenter.Validation(batch).data<float>().ToArray();
    }

    /// <summary>
    /// fastai's <c>dls.one_batch()</c> without a learner: the first <paramref name="count"/> rows of
    /// <paramref name="input"/>'s presized column through the training path, whose random flip, rotation, zoom, warp
    /// and lighting are drawn from <paramref name="seed"/> as the trainer draws them for a batch. For a picture of what
    /// the model trains on (show_batch); shuffle or filter <paramref name="input"/> first to choose the rows.
    /// </summary>
    /// <param name="input">Data with this transformer's input column (presized bytes 3×H×W).</param>
    /// <param name="count">Rows to take, at least 1; fewer come back when the data has fewer rows.</param>
    /// <param name="seed">Seed of the random augmentation: the same seed and rows give the same batch.</param>
    /// <returns>float32 [N, 3, Size, Size], normalised with <see cref="AugmentOptions.Normalization"/>; the caller disposes it.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not presized bytes, or <paramref name="count"/> is below 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="input"/> has no rows.</exception>
    public torch.Tensor AugmentBatch(IDataView input, int count, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var column = input.Schema.GetColumnOrNull(InputColumnName);
        var (height, width) = CheckInput(column, InputColumnName);
        var items = new List<byte[]>();
        using (var cursor = input.GetRowCursor(new[] { column!.Value }))
        {
            var getter = cursor.GetGetter<VBuffer<byte>>(column.Value);
            VBuffer<byte> image = default;
            while (items.Count < count && cursor.MoveNext())
            {
                getter(ref image);
                items.Add(image.ToDenseArray());
            }
        }
        if (items.Count == 0) throw new ArgumentException("The data has no rows to draw a batch from.", nameof(input));

        using var scope = torch.NewDisposeScope();
        var raw = torch.empty(new long[] { items.Count, 3, height, width }, dtype: torch.uint8);
        var pixels = raw.data<byte>();
        for (int i = 0; i < items.Count; i++) pixels.CopyFrom(items[i], 0, (long)i * items[i].Length);
        using var generator = new torch.Generator((ulong)seed);
        return Augmenter.Training(raw, generator).MoveToOuterDisposeScope();
    }

    public override void Save(ModelSaveContext ctx)
    {
        var w = MlNetInternals.BeginSave(ctx, Version);
        w.Write(OutputColumnName);
        w.Write(InputColumnName);
        AugmentOptionsFormat.Write(w, Options);
    }

    /// <summary>
    /// Releases one reference; the last frees the augmenter's reusable batch buffer. Whoever fits or loads the
    /// transformer holds one and each PredictionEngine taken from it another (a TransformerChain disposes its
    /// transformers, and an engine its model), so disposing one engine leaves the others and the owner working.
    /// </summary>
    public void Dispose()
    {
        if (Lifetime!.Release()) Augmenter.Dispose();
    }

    internal static AugmentTransformer Load(IHostEnvironment env, MlNetInternals.ModelLoadReader ctx)
    {
        var r = ctx.Reader;
        var output = r.ReadString();
        var input = r.ReadString();
        return new AugmentTransformer(output, input, AugmentOptionsFormat.Read(r));
    }
}
