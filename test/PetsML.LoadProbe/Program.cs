// Usage: PetsML.LoadProbe MODEL.zip OUTPUT.json COLUMN[,COLUMN...] IMAGE...
//        PetsML.LoadProbe --engine MODEL.zip OUTPUT.json IMAGE...
//    or: PetsML.LoadProbe --onnx-session MODEL.onnx
// Loads MODEL.zip in this fresh process, transforms one row per image path ("ImagePath" column) and writes
// the named columns as JSON: { column: [row values...] }. With --engine, it does what Microsoft's image
// classification sample does: reads each image into memory and predicts from its bytes ("Image" column)
// through a PredictionEngine, writing { "Score": [...], "PredictedLabel": [...] }.
// No registration call: ML.NET finds PetsML's loaders from the model itself.
// --onnx-session opens MODEL.onnx in ONNX Runtime with the session's log severity at WARNING and runs one batch
// of zeros, so whatever ONNX Runtime warns about lands on this process's standard error (its default log sink).
// --glibc-tunables ARG... prints {pid, GLIBC_TUNABLES, PETSML_PROBE_MARK, args} as a JSON line, restarts under PetsML's glibc tunables
// as petsml does at start (src/PetsML.Host/Native/GlibcMallocTunables.cs, compiled in here too), and so prints again if it did; then
// a last line {status} with GlibcMallocTunables.Describe().
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PetsML;

if (args[0] == "--glibc-tunables")
{
    Console.WriteLine(JsonSerializer.Serialize(new { pid = Environment.ProcessId, tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES"), mark = Environment.GetEnvironmentVariable("PETSML_PROBE_MARK"), args = args[1..] }));
    PetsML.Host.Native.GlibcMallocTunables.ApplyByRestarting(args[1..]);
    Console.WriteLine(JsonSerializer.Serialize(new { status = PetsML.Host.Native.GlibcMallocTunables.Describe(args[1..]) }));
    return 0;
}

if (args[0] == "--onnx-session")
{
    using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING };
    using var session = new InferenceSession(args[1], options);
    var feeds = session.InputMetadata.Select(input =>
    {
        var dims = input.Value.Dimensions.Select(d => d < 0 ? 1 : d).ToArray();
        return NamedOnnxValue.CreateFromTensor(input.Key, new DenseTensor<byte>(dims));
    }).ToList();
    using var results = session.Run(feeds);
    Console.WriteLine($"ran {session.InputMetadata.Count} input(s) -> {results.Count} output(s)");
    return 0;
}

var mlContext = new MLContext(seed: 0);
if (args[0] == "--engine")
{
    var loaded = mlContext.Model.Load(args[1], out _);
    using var engine = mlContext.Model.CreatePredictionEngine<InMemoryImage, ImagePrediction>(loaded);
    var predictions = args.Skip(3).Select(p => engine.Predict(new InMemoryImage { Image = File.ReadAllBytes(p) })).ToList();
    File.WriteAllText(args[2], JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["Score"] = predictions.Select(p => p.Score).ToList(),
        ["PredictedLabel"] = predictions.Select(p => p.PredictedLabel).ToList(),
    }));
    return 0;
}
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

/// <summary>An image read into memory, as in Microsoft's sample.</summary>
sealed class InMemoryImage
{
    public byte[] Image { get; set; } = Array.Empty<byte>();
}

/// <summary>The prediction, as in Microsoft's sample (PredictedLabel mapped back to the class name).</summary>
sealed class ImagePrediction
{
    public float[] Score { get; set; } = Array.Empty<float>();
    public string PredictedLabel { get; set; } = "";
}
