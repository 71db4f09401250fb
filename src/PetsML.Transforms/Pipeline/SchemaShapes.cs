using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms.Interop.MlNet;

namespace PetsML.Transforms.Pipeline;

/// <summary>Schema checks and output shapes shared by PetsML's estimators.</summary>
internal static class SchemaShapes
{
    /// <summary>The input column, or an error that names it and what was expected.</summary>
    public static SchemaShape.Column Require(SchemaShape input, string name, string expected, Func<SchemaShape.Column, bool> fits)
    {
        if (!input.TryFindColumn(name, out var column))
            throw new ArgumentOutOfRangeException(name, $"Input column '{name}' not found; expected {expected}.");
        if (!fits(column))
            throw new ArgumentOutOfRangeException(name, $"Schema mismatch for input column '{name}': expected {expected}, got {Describe(column)}.");
        return column;
    }

    public static bool TryFindColumn(this SchemaShape shape, string name, out SchemaShape.Column column)
    {
        foreach (var c in shape)
            if (c.Name == name) { column = c; return true; }
        column = default;
        return false;
    }

    /// <summary>The input shape with <paramref name="added"/> appended (replacing columns of the same name).</summary>
    public static SchemaShape With(SchemaShape input, params SchemaShape.Column[] added)
    {
        var names = added.Select(a => a.Name).ToHashSet();
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
    }

    public static SchemaShape.Column Scalar(string name, DataViewType type, bool isKey = false, SchemaShape? annotations = null)
        => MlNetInternals.ShapeColumn(name, SchemaShape.Column.VectorKind.Scalar, type, isKey, annotations);

    public static SchemaShape.Column Vector(string name, DataViewType itemType, SchemaShape? annotations = null)
        => MlNetInternals.ShapeColumn(name, SchemaShape.Column.VectorKind.Vector, itemType, false, annotations);

    /// <summary>The annotation shape of a key column: "KeyValues", a vector of text.</summary>
    public static SchemaShape KeyValuesAnnotation()
        => new(new[] { Vector("KeyValues", TextDataViewType.Instance) });

    public static string Describe(SchemaShape.Column c)
        => c.Kind switch
        {
            SchemaShape.Column.VectorKind.Scalar => c.IsKey ? $"Key<{c.ItemType}>" : $"{c.ItemType}",
            SchemaShape.Column.VectorKind.Vector => $"Vector<{c.ItemType}>",
            _ => $"VarVector<{c.ItemType}>",
        };

    /// <summary>The column of a concrete schema, or an error naming it.</summary>
    public static DataViewSchema.Column Require(DataViewSchema schema, string name, string expected, Func<DataViewType, bool> fits)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(name, $"Input column '{name}' not found; expected {expected}.");
        if (!fits(column.Type))
            throw new ArgumentOutOfRangeException(name, $"Schema mismatch for input column '{name}': expected {expected}, got {column.Type}.");
        return column;
    }
}
