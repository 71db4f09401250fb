using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Pipeline;

namespace PetsML;

/// <summary>Options of <see cref="FolderSplitEstimator"/>: fastai's <c>GrandparentSplitter(train_name='train', valid_name='valid')</c>.</summary>
public sealed class FolderSplitOptions
{
    /// <summary>The default values, written once (fastai's <c>GrandparentSplitter(train_name='train', valid_name='valid')</c>).</summary>
    public static class Defaults
    {
        /// <summary>The output column: <see cref="PetsColumnNames.IsValidation"/>.</summary>
        public const string OutputColumnName = PetsColumnNames.IsValidation;
        /// <summary>The path column: <see cref="PetsColumnNames.ImagePath"/>.</summary>
        public const string PathColumnName = PetsColumnNames.ImagePath;
        /// <summary>fastai's <c>train_name='train'</c>.</summary>
        public const string TrainFolderName = "train";
        /// <summary>fastai's <c>valid_name='valid'</c>.</summary>
        public const string ValidFolderName = "valid";
    }

    /// <summary>The Single column written: 1 for validation rows, 0 for training rows. Default "IsValidation".</summary>
    public string OutputColumnName { get; set; } = Defaults.OutputColumnName;

    /// <summary>The text column holding the image path. Default "ImagePath".</summary>
    public string PathColumnName { get; set; } = Defaults.PathColumnName;

    /// <summary>Name of the training folder. Default "train".</summary>
    public string TrainFolderName { get; set; } = Defaults.TrainFolderName;

    /// <summary>Name of the validation folder. Default "valid".</summary>
    public string ValidFolderName { get; set; } = Defaults.ValidFolderName;

    /// <summary>Checks every option and throws on the first invalid one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputColumnName)) throw new ArgumentException("FolderSplitOptions.OutputColumnName must not be empty.", nameof(OutputColumnName));
        if (string.IsNullOrWhiteSpace(PathColumnName)) throw new ArgumentException("FolderSplitOptions.PathColumnName must not be empty.", nameof(PathColumnName));
        if (string.IsNullOrWhiteSpace(TrainFolderName)) throw new ArgumentException("FolderSplitOptions.TrainFolderName must not be empty.", nameof(TrainFolderName));
        if (string.IsNullOrWhiteSpace(ValidFolderName)) throw new ArgumentException("FolderSplitOptions.ValidFolderName must not be empty.", nameof(ValidFolderName));
        if (TrainFolderName == ValidFolderName) throw new ArgumentException("FolderSplitOptions.TrainFolderName and ValidFolderName must differ.", nameof(ValidFolderName));
    }

    /// <summary>A copy, so a component keeps the settings it was made with whatever the caller changes later.</summary>
    internal FolderSplitOptions Clone() => (FolderSplitOptions)MemberwiseClone();
}

/// <summary>
/// A split by folder for ImageNet-style layouts (<c>root/train/&lt;class&gt;/x.jpg</c>, <c>root/valid/&lt;class&gt;/y.jpg</c>):
/// the grandparent folder of each file decides. Fit fails, naming a few, when files are in neither folder.
/// </summary>
public sealed class FolderSplitEstimator : IEstimator<FolderSplitTransformer>
{
    readonly FolderSplitOptions _options;

    public FolderSplitEstimator(FolderSplitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _options.Validate();
    }

    public FolderSplitTransformer Fit(IDataView input)
    {
        var transformer = new FolderSplitTransformer(_options.OutputColumnName, _options.PathColumnName, _options.TrainFolderName, _options.ValidFolderName);
        var pathColumn = SchemaShapes.Require(input.Schema, _options.PathColumnName, "text", t => t is TextDataViewType);
        var outside = new List<string>();
        using (var cursor = input.GetRowCursor(new[] { pathColumn }))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(pathColumn);
            ReadOnlyMemory<char> path = default;
            while (cursor.MoveNext())
            {
                getter(ref path);
                if (transformer.SplitOf(path.ToString()) is null) outside.Add(path.ToString());
            }
        }
        if (outside.Count > 0)
            throw new InvalidDataException(
                $"{outside.Count} file(s) are in neither a '{_options.TrainFolderName}' nor a '{_options.ValidFolderName}' folder " +
                $"(checked the folder two levels up, as in root/{_options.TrainFolderName}/<class>/file), for example: {string.Join(", ", outside.Take(5))}.");
        return transformer;
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShapes.Require(inputSchema, _options.PathColumnName, "text",
            c => c.Kind == SchemaShape.Column.VectorKind.Scalar && c.ItemType is TextDataViewType);
        return SchemaShapes.With(inputSchema, SchemaShapes.Scalar(_options.OutputColumnName, NumberDataViewType.Single));
    }
}

/// <summary>Maps a path to 1 when its grandparent folder is the validation folder, else 0.</summary>
public sealed class FolderSplitTransformer : RowMappingTransformer
{
    internal static readonly ModelVersion Version = new("PETSFSPL", 0x00010001, 0x00010001, 0x00010001,
        "PetsMLFolderSplit", typeof(FolderSplitTransformer).Assembly);

    internal FolderSplitTransformer(string outputColumnName, string pathColumnName, string trainFolderName, string validFolderName)
    {
        OutputColumnName = outputColumnName;
        PathColumnName = pathColumnName;
        TrainFolderName = trainFolderName;
        ValidFolderName = validFolderName;
    }

    public string OutputColumnName { get; }
    public string PathColumnName { get; }
    public string TrainFolderName { get; }
    public string ValidFolderName { get; }

    /// <summary>True for validation, false for training, null when the file is in neither folder.</summary>
    public bool? SplitOf(string path)
    {
        var grandparent = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(path)));
        if (grandparent == ValidFolderName) return true;
        if (grandparent == TrainFolderName) return false;
        return null;
    }

    protected override IReadOnlyList<DataViewSchema.DetachedColumn> GetOutputColumns(DataViewSchema inputSchema)
    {
        SchemaShapes.Require(inputSchema, PathColumnName, "text", t => t is TextDataViewType);
        return new[] { new DataViewSchema.DetachedColumn(OutputColumnName, NumberDataViewType.Single) };
    }

    protected override IEnumerable<string> GetInputColumnNames() => new[] { PathColumnName };

    protected override Delegate[] MakeGetters(DataViewRow input, Func<int, bool> isActive)
    {
        var pathGetter = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[PathColumnName]);
        ReadOnlyMemory<char> path = default;
        ValueGetter<float> getter = (ref float value) =>
        {
            pathGetter(ref path);
            value = SplitOf(path.ToString()) == true ? 1f : 0f;
        };
        return new Delegate[] { getter };
    }

    public override void Save(ModelSaveContext ctx)
    {
        var writer = MlNetInternals.BeginSave(ctx, Version);
        writer.Write(OutputColumnName);
        writer.Write(PathColumnName);
        writer.Write(TrainFolderName);
        writer.Write(ValidFolderName);
    }

    internal static FolderSplitTransformer Load(IHostEnvironment env, MlNetInternals.ModelLoadReader ctx)
    {
        var r = ctx.Reader;
        return new FolderSplitTransformer(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString());
    }
}
