// The README's drop-in example in an app that references PetsML's NuGet packages (see DropIn.csproj).
// It makes its own small data set: coloured shapes of three kinds, labelled by file name as the pets are.
//
//   dotnet run -c Release [-- <working folder>]
//
// Prints the validation error rate, then predicts three new images after saving and loading the model.
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Trainers;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Loading;
using PetsML.Transforms.Presizing;
using SkiaSharp;

var workFolder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "petsml-dropin");
var trainFolder = Path.Combine(workFolder, "images");
var newFolder = Path.Combine(workFolder, "new");
ShapeImages.Write(trainFolder, perClass: 30, seed: 1);
ShapeImages.Write(newFolder, perClass: 1, seed: 2);

var ml = new MLContext(seed: 0);
var files = ml.Data.LoadImageFiles(trainFolder);

// The DataBlock: label from the file name, seeded split, presize, batch augmentation (tiny images, so it is quick).
var data = ml.Transforms.LabelFromFileName(@"(.+)_\d+\.png$")
    .Append(ml.Transforms.RandomSplit(validPct: 0.25, seed: 42))
    .Append(ml.Transforms.Presize(new PresizeOptions { Size = 40 }))
    .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32, MinScale = 0.75 }));

// vision_learner(dls, resnet18, metrics=error_rate).fine_tune(1, 5e-3): a frozen epoch, then an unfrozen one.
var trainer = ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions
{
    Epochs = 1,
    BatchSize = 8,
    BaseLearningRate = 5e-3,
    Log = Console.WriteLine,
});
var model = data.Append(trainer)
    .Append(ml.Transforms.Conversion.MapKeyToValue("Shape", "PredictedLabel"))
    .Fit(files);

var metrics = ml.MulticlassClassification.Evaluate(ml.Data.ValidationRows(model.Transform(files)));
Console.WriteLine($"error_rate {1 - metrics.MicroAccuracy:0.0000}");
var modelPath = Path.Combine(workFolder, "shapes.zip");
ml.Model.SaveAtomically(model, files.Schema, modelPath);

// Later, as another app would: one registration line, then ML.NET as usual.
var ml2 = new MLContext().RegisterPetsML();
var loaded = ml2.Model.Load(modelPath, out _);
var engine = ml2.Model.CreatePredictionEngine<ImageFileRow, ShapePrediction>(loaded);
foreach (var path in Directory.GetFiles(newFolder, "*.png").Order(StringComparer.Ordinal))
{
    var prediction = engine.Predict(new ImageFileRow { ImagePath = path });
    Console.WriteLine($"predicted {Path.GetFileName(path)}: {prediction.Shape} ({prediction.Score.Max():P1})");
}

/// <summary>What the PredictionEngine fills in.</summary>
public sealed class ShapePrediction
{
    public string Shape { get; set; } = "";
    public float[] Score { get; set; } = [];
}

/// <summary>Small PNGs of three kinds: red circles, green squares and blue triangles, at random places and sizes.</summary>
static class ShapeImages
{
    public static void Write(string folder, int perClass, int seed)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        foreach (var shape in new[] { "circle", "square", "triangle" })
            for (var i = 0; i < perClass; i++)
                Write(Path.Combine(folder, $"{shape}_{i}.png"), shape, random);
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
