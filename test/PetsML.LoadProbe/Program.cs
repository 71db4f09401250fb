// Usage: PetsML.LoadProbe MODEL.zip OUTPUT.json COLUMN[,COLUMN...] IMAGE...
// Loads MODEL.zip in this fresh process (after the one registration line), transforms one row per
// image path ("ImagePath" column) and writes the named columns as JSON: { column: [row values...] }.
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Loading;

var mlContext = new MLContext(seed: 0);
mlContext.RegisterPetsML();
var model = mlContext.Model.Load(args[0], out _);
var columns = args[2].Split(',');
var rows = args.Skip(3).Select(p => new ImageFileRow { ImagePath = p }).ToList();
var output = model.Transform(mlContext.Data.LoadFromEnumerable(rows));

var result = new Dictionary<string, List<object>>();
foreach (var name in columns)
{
    var column = output.Schema[name];
    var values = new List<object>();
    using var cursor = output.GetRowCursor(new[] { column });
    Func<object> read = column.Type switch
    {
        VectorDataViewType { ItemType: var t } when t == NumberDataViewType.Single => Reader<VBuffer<float>>(cursor, column, v => v.DenseValues().ToArray()),
        VectorDataViewType { ItemType: var t } when t == NumberDataViewType.Byte => Reader<VBuffer<byte>>(cursor, column, v => v.DenseValues().Select(b => (int)b).ToArray()),
        KeyDataViewType => Reader<uint>(cursor, column, v => v),
        _ when column.Type == NumberDataViewType.Single => Reader<float>(cursor, column, v => v),
        _ => Reader<ReadOnlyMemory<char>>(cursor, column, v => v.ToString()),
    };
    while (cursor.MoveNext()) values.Add(read());
    result[name] = values;
}
File.WriteAllText(args[1], JsonSerializer.Serialize(result));
return 0;

static Func<object> Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, object> convert)
{
    var getter = cursor.GetGetter<T>(column);
    return () => { T value = default!; getter(ref value); return convert(value); };
}
