// The README's drop-in example in an app that references PetsML's NuGet packages (see DropIn.csproj): the shape
// of Microsoft's ML.NET image-classification sample (DeepLearning_ImageClassification_Training) with only its
// trainer line changed. It makes its own small data set: coloured shapes of three kinds, a folder per class.
//
//   dotnet run -c Release [-- <working folder>]
//
// Prints the validation error rate, then, after saving and loading the model with plain ML.NET, predicts one
// new image of each kind from its bytes in memory.
using Microsoft.ML;
using SkiaSharp;

var workFolder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "petsml-dropin");
var folder = Path.Combine(workFolder, "images");
var newFolder = Path.Combine(workFolder, "new");
ShapeImages.Write(folder, perClass: 60, seed: 1);
ShapeImages.Write(newFolder, perClass: 1, seed: 2);

var mlContext = new MLContext(seed: 1);
var images = Directory.GetFiles(folder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
    .Select(path => new ImageData { ImagePath = Path.GetRelativePath(folder, path), Label = Directory.GetParent(path)!.Name });
IDataView shuffled = mlContext.Data.ShuffleRows(mlContext.Data.LoadFromEnumerable(images));
IDataView prepared = mlContext.Transforms.Conversion.MapValueToKey("LabelAsKey", "Label")
    .Append(mlContext.Transforms.LoadRawImageBytes("Image", folder, "ImagePath"))
    .Fit(shuffled).Transform(shuffled);
var split = mlContext.Data.TrainTestSplit(prepared, testFraction: 0.2);

var pipeline = mlContext.MulticlassClassification.Trainers.FineTuneImageClassifier(     // the only PetsML line
        featureColumnName: "Image", labelColumnName: "LabelAsKey", validationSet: split.TestSet)
    .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel", "PredictedLabel"));
mlContext.Log += (_, e) => { if (e.Source == "FineTuneImageClassifier") Console.WriteLine(e.Message); };
ITransformer model = pipeline.Fit(split.TrainSet);

var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet), labelColumnName: "LabelAsKey");
Console.WriteLine($"error_rate {1 - metrics.MicroAccuracy:0.0000}");
var modelPath = Path.Combine(workFolder, "model.zip");
mlContext.Model.Save(model, split.TrainSet.Schema, modelPath);

// Later, as another app would: plain ML.NET, no registration.
var loadContext = new MLContext();
var loaded = loadContext.Model.Load(modelPath, out _);
using var engine = loadContext.Model.CreatePredictionEngine<InMemoryImageData, ImagePrediction>(loaded);
foreach (var path in Directory.GetFiles(newFolder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
{
    var prediction = engine.Predict(new InMemoryImageData { Image = File.ReadAllBytes(path) });
    Console.WriteLine($"predicted {Path.GetFileName(path)}: {prediction.PredictedLabel} ({prediction.Score.Max():P1})");
}

/// <summary>A row of the data set: an image file (relative to the images folder) and its class.</summary>
public sealed class ImageData
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}

/// <summary>What the app predicts from: the encoded image, in memory.</summary>
public sealed class InMemoryImageData
{
    public byte[] Image { get; set; } = [];
}

/// <summary>What the PredictionEngine fills in.</summary>
public sealed class ImagePrediction
{
    public float[] Score { get; set; } = [];
    public string PredictedLabel { get; set; } = "";
}

/// <summary>Small PNGs of three kinds, a folder per kind: red circles, green squares and blue triangles, at random places and sizes.</summary>
static class ShapeImages
{
    public static void Write(string folder, int perClass, int seed)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        foreach (var shape in new[] { "circle", "square", "triangle" })
        {
            Directory.CreateDirectory(Path.Combine(folder, shape));
            for (var i = 0; i < perClass; i++)
                Write(Path.Combine(folder, shape, $"{shape}_{i}.png"), shape, random);
        }
    }

    private static void Write(string path, string shape, Random random)
    {
        const int size = 80;
        using var bitmap = new SKBitmap(size, size);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(new SKColor((byte)random.Next(200, 256), (byte)random.Next(200, 256), (byte)random.Next(200, 256)));
        float r = random.Next(14, 28), cx = random.Next(28, 52), cy = random.Next(28, 52);
        using var paint = new SKPaint { IsAntialias = true };
        switch (shape)
        {
            case "circle":
                paint.Color = new SKColor(220, 30, 30);
                canvas.DrawCircle(cx, cy, r, paint);
                break;
            case "square":
                paint.Color = new SKColor(30, 170, 30);
                canvas.DrawRect(cx - r, cy - r, 2 * r, 2 * r, paint);
                break;
            default:
                paint.Color = new SKColor(30, 30, 220);
                using (var triangle = new SKPath())
                {
                    triangle.MoveTo(cx, cy - r);
                    triangle.LineTo(cx + r, cy + r);
                    triangle.LineTo(cx - r, cy + r);
                    triangle.Close();
                    canvas.DrawPath(triangle, paint);
                }
                break;
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
