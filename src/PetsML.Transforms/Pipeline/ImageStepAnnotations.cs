using Microsoft.ML;
using Microsoft.ML.Data;

namespace PetsML.Transforms.Pipeline;

/// <summary>
/// Presize and AugmentImages describe themselves on the column they write, as an ML.NET annotation (a
/// vector of bytes holding their settings and their input column's name). The trainer reads these from
/// the one column it is given and rebuilds their random training paths from them, so it never walks the
/// pipeline: a cache checkpoint, an in-place column or any ML.NET step that keeps annotations in between
/// changes nothing.
/// </summary>
internal static class ImageStepAnnotations
{
    /// <summary>On Presize's output column: its <see cref="PresizeTransformer"/> settings and input column.</summary>
    public const string Presize = "PetsML.Presize";

    /// <summary>On AugmentImages' output column: its <see cref="AugmentOptions"/> and input column.</summary>
    public const string Augment = "PetsML.Augment";

    /// <summary>An annotation set holding one settings blob under <paramref name="kind"/>.</summary>
    public static DataViewSchema.Annotations Describe(string kind, Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) write(writer);
        var bytes = stream.ToArray();
        var builder = new DataViewSchema.Annotations.Builder();
        ValueGetter<VBuffer<byte>> getter = (ref VBuffer<byte> value) => value = new VBuffer<byte>(bytes.Length, (byte[])bytes.Clone());
        builder.Add(kind, new VectorDataViewType(NumberDataViewType.Byte), getter);
        return builder.ToAnnotations();
    }

    /// <summary>A reader over the settings blob of <paramref name="kind"/> on <paramref name="column"/>, or null when it has none.</summary>
    public static BinaryReader? Read(DataViewSchema.Column column, string kind)
    {
        if (column.Annotations.Schema.GetColumnOrNull(kind) is not { } annotation) return null;
        VBuffer<byte> bytes = default;
        column.Annotations.GetGetter<VBuffer<byte>>(annotation)(ref bytes);
        return new BinaryReader(new MemoryStream(bytes.DenseValues().ToArray()), System.Text.Encoding.UTF8);
    }

    /// <summary>
    /// The column named <paramref name="name"/> that a step writing column index <paramref name="below"/> read:
    /// the last one of that name before it, hidden or not (a step writing in place hides its input).
    /// </summary>
    public static DataViewSchema.Column? InputOf(DataViewSchema schema, string name, int below)
    {
        for (int i = Math.Min(below, schema.Count) - 1; i >= 0; i--)
            if (schema[i].Name == name) return schema[i];
        return null;
    }
}
