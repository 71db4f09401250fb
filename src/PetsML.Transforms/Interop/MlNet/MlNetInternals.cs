// Why this file exists
// --------------------
// ML.NET 5.0.1 keeps its model persistence API internal (ModelSaveContext.Writer/SetVersionInfo/
// SaveBinaryStream, ModelLoadContext, VersionInfo) and the SchemaShape.Column constructor too. PetsML's
// loaders are ordinary [assembly: LoadableClass] attributes (TransformLoaders.cs); this file and the loaders are
// compiled against publicized references (build/MlNetInternals) and call those internals directly, allowed at run
// time by [assembly: IgnoresAccessChecksTo]. Every ML.NET internal PetsML uses is in an Interop/MlNet folder
// (test/PetsML.Tests/Docs/MlNetInternalsBoundaryTests.cs fails otherwise), so an ML.NET upgrade that changes
// their shape breaks the build here, not subtly elsewhere. Checked against Microsoft.ML 5.0.1 and 6.0.0.
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

/// <summary>ML.NET's internal persistence and schema-shape API, the parts PetsML's components need.</summary>
internal static class MlNetInternals
{
    /// <summary>Starts saving a component: writes the version header and returns the main stream's writer.</summary>
    public static BinaryWriter BeginSave(ModelSaveContext ctx, ModelVersion version)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel();
        ctx.SetVersionInfo(ToVersionInfo(version));
        return ctx.Writer;
    }

    /// <summary>Adds a sibling entry to the component's folder in the .zip (for large state such as weights).</summary>
    public static void SaveBinaryStream(ModelSaveContext ctx, string entryName, Action<BinaryWriter> write)
        => ctx.SaveBinaryStream(entryName, write);

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
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or OverflowException or ArgumentException)
        {
            throw new InvalidDataException(
                $"PetsML could not read its {typeof(T).Name} ({version.LoaderSignature}) from the model .zip: {e.Message} " +
                "The file is damaged, or was written by another PetsML version: load it with that version, or train and save it again.", e);
        }
    }

    /// <summary>The parts of ML.NET's internal ModelLoadContext a loader needs.</summary>
    public sealed class ModelLoadReader
    {
        readonly ModelLoadContext _ctx;

        internal ModelLoadReader(ModelLoadContext ctx) => _ctx = ctx;

        /// <summary>The main stream of the component's entry; read back exactly what was written.</summary>
        public BinaryReader Reader => _ctx.Reader;

        /// <summary>The format version that was written (to read older formats).</summary>
        /// <remarks>
        /// The model's version (ModelHeader.ModelVerWritten), not the header's own format version (VerWritten): a check
        /// against the latter did not tell the model's formats apart (the classifier's 0x00010003 plan was never read).
        /// </remarks>
        public uint VersionWritten => _ctx.Header.ModelVerWritten;

        internal void CheckAtModel(ModelVersion version) => _ctx.CheckAtModel(ToVersionInfo(version));

        /// <summary>
        /// Reads a sibling entry written with <see cref="SaveBinaryStream"/> straight from the .zip into memory, or
        /// returns null if it is absent. Unlike <see cref="TryLoadBinaryStream"/> (which lets ML.NET extract the whole
        /// entry to a temporary file first), an entry that declares or inflates to more than
        /// <paramref name="limit"/> bytes is refused with an <see cref="InvalidDataException"/> before more than
        /// <paramref name="limit"/> bytes are read, and nothing is written to disk.
        /// </summary>
        public byte[]? ReadEntryAtMost(string entryName, long limit)
        {
            var directory = _ctx.Directory ?? "";
            var key = Path.Combine(directory, entryName).Replace('\\', '/');
            // RepositoryReader keeps its entries private; TryLoadBinaryStream would extract the whole entry to disk.
            var entries = _ctx.Repository._entries;
            // ML.NET 5 keys its entries with forward slashes; older versions normalised them to backslashes.
            if (!entries.TryGetValue(key, out var entry) && !entries.TryGetValue(key.Replace('/', '\\'), out entry)) return null;
            return BoundedZipEntry.Read(entry, limit);
        }

        /// <summary>Reads a sibling entry written with <see cref="SaveBinaryStream"/>; false if it is absent.</summary>
        public bool TryLoadBinaryStream(string entryName, Action<BinaryReader> read)
            => _ctx.TryLoadBinaryStream(entryName, read);
    }

    /// <summary>Creates a <see cref="SchemaShape.Column"/> (its constructor is internal).</summary>
    public static SchemaShape.Column ShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations = null)
        => new(name, kind, itemType, isKey, annotations);

    /// <summary>The shape of a concrete schema (ML.NET's internal SchemaShape.Create).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) => SchemaShape.Create(schema);

    static VersionInfo ToVersionInfo(ModelVersion v)
        => new(v.ModelSignature, v.VersionWritten, v.VersionReadable, v.VersionWeCanReadBack, v.LoaderAssembly.FullName, v.LoaderSignature, null);
}
