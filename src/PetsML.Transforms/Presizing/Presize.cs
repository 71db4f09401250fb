using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Runtime;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Pipeline;
using PetsML.Transforms.Presizing;

namespace PetsML;

/// <summary>
/// fastai's item transform <c>Resize(460)</c> as an ML.NET estimator: decode each image by content,
/// convert it to RGB and crop/squish/pad it to <see cref="PresizeOptions.Size"/> (a square unless
/// <see cref="PresizeOptions.Width"/>/<see cref="PresizeOptions.Height"/> say otherwise).
/// The output is bytes 3×Height×Width (planar RGB), what the batch augmentation takes.
/// </summary>
/// <remarks>
/// The input column may be a path (text), raw bytes (<c>mlContext.Transforms.LoadRawImageBytes</c>, a
/// vector of bytes) or an <see cref="MLImage"/> (<c>mlContext.Transforms.LoadImages</c>).
/// Through ML.NET (<c>Transform</c>, <c>PredictionEngine</c>) the crop is always centred, as fastai does on
/// validation; the trainer draws a random crop position for every training item in every epoch.
/// </remarks>
public sealed class PresizeEstimator : IEstimator<PresizeTransformer>
{
    readonly PresizeTransformer _transformer;

    public PresizeEstimator(string outputColumnName, string inputColumnName, PresizeOptions? options = null, ImageDecodeOptions? decodeOptions = null)
    {
        _transformer = new PresizeTransformer(outputColumnName, inputColumnName, options ?? new PresizeOptions(), decodeOptions ?? new ImageDecodeOptions());
    }

    /// <summary>Nothing to learn: checks the input column and returns the transformer.</summary>
    public PresizeTransformer Fit(IDataView input)
    {
        PresizeTransformer.CheckInput(input.Schema[_transformer.InputColumnName].Type, _transformer.InputColumnName);
        return _transformer;
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, _transformer.InputColumnName, PresizeTransformer.ExpectedInput, c =>
            (c.Kind == SchemaShape.Column.VectorKind.Scalar && (c.ItemType is TextDataViewType || c.ItemType is ImageDataViewType)) ||
            (c.Kind != SchemaShape.Column.VectorKind.Scalar && c.ItemType == NumberDataViewType.Byte));
        return SchemaShapes.With(inputSchema, SchemaShapes.Vector(_transformer.OutputColumnName, NumberDataViewType.Byte));
    }
}

/// <summary>Decodes and presizes one image per row (centre crop); see <see cref="PresizeEstimator"/>.</summary>
public sealed class PresizeTransformer : RowMappingTransformer
{
    internal const string ExpectedInput = "a path (text), image bytes (vector of Byte) or an MLImage";
    internal static readonly ModelVersion Version = new("PETSPRSZ", 0x00010001, 0x00010001, 0x00010001,
        "PetsMLPresize", typeof(PresizeTransformer).Assembly);

    /// <summary>A presize step for the given columns and options (what <see cref="PresizeEstimator"/> fits).</summary>
    public PresizeTransformer(string outputColumnName, string inputColumnName, PresizeOptions options, ImageDecodeOptions decodeOptions)
    {
        if (string.IsNullOrWhiteSpace(outputColumnName)) throw new ArgumentException("The output column name must not be empty.", nameof(outputColumnName));
        if (string.IsNullOrWhiteSpace(inputColumnName)) throw new ArgumentException("The input column name must not be empty.", nameof(inputColumnName));
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(decodeOptions);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        _options = options.Clone();
        _options.Validate();
        _decodeOptions = decodeOptions.Clone();
        _decodeOptions.Validate();
    }

    readonly PresizeOptions _options;
    readonly ImageDecodeOptions _decodeOptions;

    public string OutputColumnName { get; }
    public string InputColumnName { get; }

    /// <summary>A copy of the presize settings (changing it changes nothing).</summary>
    public PresizeOptions Options => _options.Clone();

    /// <summary>The settings themselves, for PetsML's own per-image code (read only; a copy per image would be waste).</summary>
    internal PresizeOptions Settings => _options;

    /// <summary>A copy of the decode settings (changing it changes nothing).</summary>
    public ImageDecodeOptions DecodeOptions => _decodeOptions.Clone();

    /// <summary>Output height in pixels.</summary>
    public int Height => _options.TargetHeight;

    /// <summary>Output width in pixels.</summary>
    public int Width => _options.TargetWidth;

    internal static void CheckInput(DataViewType type, string column)
    {
        if (type is TextDataViewType || type is ImageDataViewType) return;
        if (type is VectorDataViewType v && v.ItemType == NumberDataViewType.Byte) return;
        throw new ArgumentOutOfRangeException(column, $"Schema mismatch for input column '{column}': expected {ExpectedInput}, got {type}.");
    }

    /// <summary>
    /// Decodes and presizes one image. <paramref name="pctX"/>/<paramref name="pctY"/> place the crop
    /// (0.5, 0.5 = centre, fastai's validation; uniform random on training).
    /// </summary>
    internal byte[] Presize(ImageSource source, double pctX = 0.5, double pctY = 0.5)
        => Presizer.Presize(source.Decode(DecodeOptions), Options, pctX, pctY);

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        var column = inputSchema.GetColumnOrNull(InputColumnName)
            ?? throw new ArgumentOutOfRangeException(InputColumnName, $"Input column '{InputColumnName}' not found; expected {ExpectedInput}.");
        CheckInput(column.Type, InputColumnName);
        return new[]
        {
            new DataViewSchema.DetachedColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Byte, 3, Height, Width),
                ImageStepAnnotations.Describe(ImageStepAnnotations.Presize, WriteSettings)),
        };
    }

    protected override IEnumerable<string> GetInputColumnNames() => new[] { InputColumnName };

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var read = ImageSource.MakeReader(input, InputColumnName);
        long cachedPosition = -1;
        byte[]? cached = null;
        ValueGetter<VBuffer<byte>> getter = (ref VBuffer<byte> value) =>
        {
            if (cachedPosition != input.Position || cached is null)
            {
                cached = Presize(read());
                cachedPosition = input.Position;
            }
            var editor = VBufferEditor.Create(ref value, cached.Length);
            cached.CopyTo(editor.Values);
            value = editor.Commit();
        };
        return new Delegate[] { getter };
    }

    public override void Save(ModelSaveContext ctx)
    {
        var w = MlNetInternals.BeginSave(ctx, Version);
        w.Write(OutputColumnName);
        WriteSettings(w);
    }

    /// <summary>The input column and the options, as the model .zip and the output column's annotation hold them.</summary>
    internal void WriteSettings(BinaryWriter w)
    {
        w.Write(InputColumnName);
        w.Write(_options.Size);
        w.Write(_options.Width ?? 0);
        w.Write(_options.Height ?? 0);
        w.Write((int)_options.Method);
        w.Write((int)_options.PadMode);
        w.Write(_decodeOptions.MaxPixels);
        w.Write(_decodeOptions.ApplyExifOrientation);
    }

    /// <summary>
    /// Reads what <see cref="WriteSettings"/> wrote, checking each size before it sizes anything: the sides against
    /// <see cref="ModelFileLimits.MaxImageSide"/>, the decode limit against <see cref="ModelFileLimits.MaxDecodePixels"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A size past its bound or an unknown setting; the message names the limit.</exception>
    internal static PresizeTransformer ReadSettings(BinaryReader r, string outputColumnName)
    {
        const string step = "Presize";
        var input = r.ReadString();
        int size = ModelFileLimits.Side(r.ReadInt32(), step, "a size of");
        int width = r.ReadInt32(), height = r.ReadInt32();
        var options = new PresizeOptions
        {
            Size = size,
            Width = width > 0 ? ModelFileLimits.Side(width, step, "a width of") : null,
            Height = height > 0 ? ModelFileLimits.Side(height, step, "a height of") : null,
            Method = ModelFileLimits.Defined<PresizeMethod>(r.ReadInt32(), step, "method"),
            PadMode = ModelFileLimits.Defined<PadMode>(r.ReadInt32(), step, "pad mode"),
        };
        long maxPixels = r.ReadInt64();
        if (maxPixels is < 1 or > ModelFileLimits.MaxDecodePixels)
            throw ModelFileLimits.Bad(step, $"declares MaxPixels {maxPixels:N0} (at least 1, at most {ModelFileLimits.MaxDecodePixels:N0}, ModelFileLimits.MaxDecodePixels)");
        var decode = new ImageDecodeOptions { MaxPixels = maxPixels, ApplyExifOrientation = r.ReadBoolean() };
        return new PresizeTransformer(outputColumnName, input, options, decode);
    }

    internal static PresizeTransformer Load(IHostEnvironment env, MlNetInternals.ModelLoadReader ctx)
    {
        var output = ctx.Reader.ReadString();
        return ReadSettings(ctx.Reader, output);
    }
}
