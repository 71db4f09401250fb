// Why this file exists
// --------------------
// ML.NET 5.0.1 keeps its model persistence API internal (ModelSaveContext.Writer/SetVersionInfo/
// SaveBinaryStream, ModelLoadContext, VersionInfo) and the SchemaShape.Column constructor too. PetsML's
// loaders are ordinary [assembly: LoadableClass] attributes (TransformLoaders.cs, compiled against publicized
// references, build/MlNetInternals), so ML.NET finds them by itself; the save and load contexts are still reached
// here by reflection. This is the ONLY place in PetsML that does so; every member is resolved eagerly on first
// use and a missing one fails with a MissingMemberException that names it, so an ML.NET upgrade that changes
// shape breaks loudly here, not subtly elsewhere. Checked against Microsoft.ML 5.0.1 (release/5.0).
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace PetsML.Transforms.Interop.MlNet;

/// <summary>
/// The version stamp of one saved component: what ML.NET writes into the header of its entry in the
/// model .zip and uses to find the loader again.
/// </summary>
/// <param name="ModelSignature">Exactly eight characters identifying the format, e.g. "PETSLABL".</param>
/// <param name="VersionWritten">Version of the format this code writes.</param>
/// <param name="VersionReadable">Oldest reader version able to read what this code writes.</param>
/// <param name="VersionWeCanReadBack">Oldest format version this code can still read.</param>
/// <param name="LoaderSignature">Name the loader is registered under (unique per catalog, case-insensitive).</param>
/// <param name="LoaderAssembly">The assembly ML.NET loads to find the loader.</param>
internal sealed record ModelVersion(
    string ModelSignature, uint VersionWritten, uint VersionReadable, uint VersionWeCanReadBack,
    string LoaderSignature, Assembly LoaderAssembly);

/// <summary>Reflection bridge to ML.NET's internal persistence and schema-shape API.</summary>
internal static class MlNetInternals
{
    static readonly Assembly Core = typeof(ICanSaveModel).Assembly;              // Microsoft.ML.Core
    static readonly Type VersionInfoType = Required(Core.GetType("Microsoft.ML.VersionInfo"), "Microsoft.ML.VersionInfo");
    static readonly Type LoadContextType = Required(Core.GetType("Microsoft.ML.ModelLoadContext"), "Microsoft.ML.ModelLoadContext");

    static readonly ConstructorInfo VersionInfoCtor = Required(VersionInfoType.GetConstructor(
        new[] { typeof(string), typeof(uint), typeof(uint), typeof(uint), typeof(string), typeof(string), typeof(string) }), "VersionInfo(string, uint, uint, uint, string, string, string)");

    const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
    static readonly MethodInfo SaveCheckAtModel = Method(typeof(ModelSaveContext), "CheckAtModel", Type.EmptyTypes);
    static readonly MethodInfo SaveSetVersionInfo = Method(typeof(ModelSaveContext), "SetVersionInfo", new[] { VersionInfoType });
    static readonly FieldInfo SaveWriter = Field(typeof(ModelSaveContext), "Writer");
    static readonly MethodInfo SaveBinaryStreamMethod = Method(typeof(ModelSaveContext), "SaveBinaryStream", new[] { typeof(string), typeof(Action<BinaryWriter>) });

    static readonly FieldInfo LoadReader = Field(LoadContextType, "Reader");
    static readonly MethodInfo LoadCheckAtModel = Method(LoadContextType, "CheckAtModel", new[] { VersionInfoType });
    static readonly MethodInfo LoadTryLoadBinaryStream = Method(LoadContextType, "TryLoadBinaryStream", new[] { typeof(string), typeof(Action<BinaryReader>) });
    static readonly FieldInfo LoadHeader = Field(LoadContextType, "Header");
    static readonly FieldInfo LoadRepository = Field(LoadContextType, "Repository");
    static readonly FieldInfo LoadDirectory = Field(LoadContextType, "Directory");
    static readonly FieldInfo RepositoryEntries = Field(Required(Core.GetType("Microsoft.ML.RepositoryReader"), "Microsoft.ML.RepositoryReader"), "_entries");

    /// <summary>Starts saving a component: writes the version header and returns the main stream's writer.</summary>
    public static BinaryWriter BeginSave(ModelSaveContext ctx, ModelVersion version)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        SaveCheckAtModel.Invoke(ctx, null);
        SaveSetVersionInfo.Invoke(ctx, new[] { ToVersionInfo(version) });
        return (BinaryWriter)SaveWriter.GetValue(ctx)!;
    }

    /// <summary>Adds a sibling entry to the component's folder in the .zip (for large state such as weights).</summary>
    public static void SaveBinaryStream(ModelSaveContext ctx, string entryName, Action<BinaryWriter> write)
        => Invoke(SaveBinaryStreamMethod, ctx, entryName, write);

    /// <summary>
    /// The body of every <c>[assembly: LoadableClass]</c> loader: checks the component's version header, then reads it.
    /// </summary>
    public static T Load<T>(IHostEnvironment env, ModelLoadContext ctx, ModelVersion version, Func<IHostEnvironment, ModelLoadReader, T> load)
    {
        var reader = new ModelLoadReader(ctx);
        reader.CheckAtModel(version);
        try
        {
            return load(env, reader);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or OverflowException)
        {
            throw new InvalidDataException(
                $"PetsML could not read its {typeof(T).Name} ({version.LoaderSignature}) from the model .zip: {e.Message} " +
                "The file is damaged, or was written by another PetsML version: load it with that version, or train and save it again.", e);
        }
    }

    /// <summary>The parts of ML.NET's internal ModelLoadContext a loader needs.</summary>
    public sealed class ModelLoadReader
    {
        readonly object _ctx;

        internal ModelLoadReader(object ctx) => _ctx = ctx;

        /// <summary>The main stream of the component's entry; read back exactly what was written.</summary>
        public BinaryReader Reader => (BinaryReader)LoadReader.GetValue(_ctx)!;

        /// <summary>The format version that was written (to read older formats).</summary>
        /// <remarks>
        /// The model's version (ModelHeader.ModelVerWritten), not the header's own format version (VerWritten): a check
        /// against the latter did not tell the model's formats apart (the classifier's 0x00010003 plan was never read).
        /// </remarks>
        public uint VersionWritten
        {
            get
            {
                var header = LoadHeader.GetValue(_ctx)!;
                return (uint)header.GetType().GetField("ModelVerWritten", Instance)!.GetValue(header)!;
            }
        }

        internal void CheckAtModel(ModelVersion version) => Invoke(LoadCheckAtModel, _ctx, ToVersionInfo(version));

        /// <summary>
        /// Reads a sibling entry written with <see cref="SaveBinaryStream"/> straight from the .zip into memory, or
        /// returns null if it is absent. Unlike <see cref="TryLoadBinaryStream"/> (which lets ML.NET extract the whole
        /// entry to a temporary file first), an entry that declares or inflates to more than
        /// <paramref name="limit"/> bytes is refused with an <see cref="InvalidDataException"/> before more than
        /// <paramref name="limit"/> bytes are read, and nothing is written to disk.
        /// </summary>
        public byte[]? ReadEntryAtMost(string entryName, long limit)
        {
            var directory = (string?)LoadDirectory.GetValue(_ctx) ?? "";
            var key = Path.Combine(directory, entryName).Replace('\\', '/');
            var entries = (Dictionary<string, System.IO.Compression.ZipArchiveEntry>)RepositoryEntries.GetValue(LoadRepository.GetValue(_ctx)!)!;
            // ML.NET 5 keys its entries with forward slashes; older versions normalised them to backslashes.
            if (!entries.TryGetValue(key, out var entry) && !entries.TryGetValue(key.Replace('/', '\\'), out entry)) return null;
            return BoundedZipEntry.Read(entry, limit);
        }

        /// <summary>Reads a sibling entry written with <see cref="SaveBinaryStream"/>; false if it is absent.</summary>
        public bool TryLoadBinaryStream(string entryName, Action<BinaryReader> read)
            => (bool)Invoke(LoadTryLoadBinaryStream, _ctx, entryName, read)!;
    }

    /// <summary>Creates a <see cref="SchemaShape.Column"/> (its constructor is internal).</summary>
    public static SchemaShape.Column ShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null)
        => (SchemaShape.Column)ShapeColumnCtor.Invoke(new object?[] { name, kind, itemType, isKey, annotations });

    static readonly ConstructorInfo ShapeColumnCtor = Required(typeof(SchemaShape.Column).GetConstructor(Instance, null,
        new[] { typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape) }, null),
        "SchemaShape.Column(string, VectorKind, DataViewType, bool, SchemaShape)");

    /// <summary>The shape of a concrete schema (ML.NET's internal SchemaShape.Create).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema)
        => (SchemaShape)Method(typeof(SchemaShape), "Create", new[] { typeof(DataViewSchema) }, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public).Invoke(null, new object[] { schema })!;

    static object ToVersionInfo(ModelVersion v)
        => VersionInfoCtor.Invoke(new object?[] { v.ModelSignature, v.VersionWritten, v.VersionReadable, v.VersionWeCanReadBack, v.LoaderAssembly.FullName, v.LoaderSignature, null });

    static object? Invoke(MethodInfo method, object? target, params object?[] args)
    {
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    static MethodInfo Method(Type type, string name, Type[] parameters, BindingFlags flags = Instance)
        => Required(type.GetMethod(name, flags, null, parameters, null), $"{type.Name}.{name}");

    static FieldInfo Field(Type type, string name)
        => Required(type.GetField(name, Instance), $"{type.Name}.{name}");

    static T Required<T>(T? member, string name) where T : class
        => member ?? throw new MissingMemberException(
            $"ML.NET internal member '{name}' was not found. PetsML's persistence bridge (Interop/MlNet) was checked against Microsoft.ML 5.0.1; pin that version.");
}
