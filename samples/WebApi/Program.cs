using Microsoft.ML;
using PetsML;
using SkiaSharp;

// POST /predict with an image as the body answers {"label","probability","top":[...],"isUnknown","outlierScore","modelVersion"}.
// Without a model the app first trains a tiny one on shapes it draws (about a minute on 2 cores), so it runs anywhere;
// point Model at a real one (dotnet run -- --Model pets.zip) to serve it. Replacing that file atomically swaps it in.
var builder = WebApplication.CreateBuilder(args);
var model = builder.Configuration["Model"] ?? "model.zip";
if (!File.Exists(model)) TrainOnDrawnShapes(model, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "shapes"));

builder.Services.AddPetsMLPredictions(model);       // the model loads when the app starts
var app = builder.Build();
app.MapPetsMLPredictions();                          // POST /predict
app.Run();

static void TrainOnDrawnShapes(string modelPath, string folder)
{
    string[] classes = ["disc", "square", "triangle"];
    Directory.CreateDirectory(folder);
    var random = new Random(1);
    for (int c = 0; c < classes.Length; c++)
    for (int i = 1; i <= 16; i++)
        File.WriteAllBytes(Path.Combine(folder, $"{classes[c]}_{i}.jpg"), Draw(c, random));

    var ml = new MLContext(seed: 1);
    var files = ml.Data.LoadImageFiles(folder);
    var trained = ml.Transforms.LabelFromFileName()
        .Append(ml.Transforms.RandomSplit(validPct: 0.25, seed: 42))
        .Append(ml.Transforms.Presize(new PresizeOptions { Size = 48 }))
        .Append(ml.Transforms.AugmentImages(new AugmentOptions { Size = 32 }))
        .Append(ml.MulticlassClassification.Trainers.FineTuneImageClassifier(new ImageFineTuningOptions { Epochs = 3, BatchSize = 8, Log = Console.WriteLine }))
        .Fit(files);
    ml.Model.SaveAtomically(trained, files.Schema, modelPath);
    Console.WriteLine($"trained {modelPath} on {folder}");
}

static byte[] Draw(int shape, Random random)
{
    using var bitmap = new SKBitmap(64, 56);
    using var canvas = new SKCanvas(bitmap);
    canvas.Clear(new SKColor((byte)random.Next(200, 256), (byte)random.Next(200, 256), (byte)random.Next(200, 256)));
    float side = 24 + random.Next(12), x = 32 + random.Next(-6, 7), y = 28 + random.Next(-6, 7);
    using var paint = new SKPaint { IsAntialias = true, Color = shape switch { 0 => SKColors.Red, 1 => SKColors.Green, _ => SKColors.Blue } };
    if (shape == 0) canvas.DrawCircle(x, y, side / 2, paint);
    else if (shape == 1) canvas.DrawRect(x - side / 2, y - side / 2, side, side, paint);
    else
    {
        using var path = new SKPath();
        path.MoveTo(x, y - side / 2);
        path.LineTo(x + side / 2, y + side / 2);
        path.LineTo(x - side / 2, y + side / 2);
        path.Close();
        canvas.DrawPath(path, paint);
    }
    using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
    return jpeg.ToArray();
}
