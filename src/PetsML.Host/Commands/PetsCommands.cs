using PetsML.Host.Cli;
using PetsML.Host.Commands.Download;
using PetsML.Host.Commands.Evaluate;
using PetsML.Host.Commands.Export;
using PetsML.Host.Commands.Interpret;
using PetsML.Host.Commands.LrFind;
using PetsML.Host.Commands.Predict;
using PetsML.Host.Commands.Review;
using PetsML.Host.Commands.Score;
using PetsML.Host.Commands.Serve;
using PetsML.Host.Commands.ShowBatch;
using PetsML.Host.Commands.Train;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands;

/// <summary>Registers every command of <c>petsml</c> with its examples. Program.cs and the tests both call it.</summary>
public static class PetsCommands
{
    public static void Configure(IConfigurator config, HostConsole console)
    {
        config.SetApplicationName("petsml");
        config.Settings.Registrar.RegisterInstance(console);
        config.Settings.ExceptionHandler = (exception, _) => ErrorHandler.Handle(exception, console);
        config.Settings.CancellationExitCode = ExitCodes.Cancelled;
        config.Settings.Console = console.Out;
        config.Settings.StrictParsing = true;

        config.AddCommand<TrainCommand>("train")
            .WithDescription("Fine-tune a pretrained ResNet (fastai's fine_tune): prints the epoch table, writes the model .zip and a batch picture.")
            .WithExample("train")
            .WithExample("train", "--data", "images", "--epochs", "2", "--report", "report");
        config.AddCommand<LrFindCommand>("lr-find")
            .WithDescription("Run the learning-rate finder on a fresh frozen model: print the four suggestions and plot the curve.")
            .WithExample("lr-find", "--data", "images", "--plot", "lr_find.png");
        config.AddCommand<EvaluateCommand>("evaluate")
            .WithDescription("ML.NET metrics, the confusion matrix and the most confused pairs on the model's validation split.")
            .WithExample("evaluate", "--model", "model.zip", "--data", "images", "--min-val", "2");
        config.AddCommand<InterpretCommand>("interpret")
            .WithDescription("Confusion matrix and top-losses pictures, most confused pairs.")
            .WithExample("interpret", "--model", "model.zip", "--data", "images", "--out", "interpretation");
        config.AddCommand<PredictCommand>("predict")
            .WithDescription("Breed and probability (top 3) for each image.")
            .WithExample("predict", "--model", "model.zip", "cat.jpg");
        config.AddCommand<ServeCommand>("serve")
            .WithDescription("Serve predictions over HTTP on this machine: POST /predict, GET /health, and a page to drop a photo on; a new model file moved into place is swapped in.")
            .WithExample("serve", "--model", "model.zip", "--urls", "http://127.0.0.1:5000");
        config.AddCommand<ReviewCommand>("review")
            .WithDescription("Clean the data set in a browser: the photos per class by loss, keep / relabel / delete each, apply through a journal; --undo reverts the last apply.")
            .WithExample("review", "--model", "model.zip", "--data", "images")
            .WithExample("review", "--data", "images", "--undo");
        config.AddCommand<ExportCommand>("export")
            .WithDescription("Write the model as one ONNX file (uint8 RGB in, probabilities out), optionally with a Triton model repository.")
            .WithExample("export", "--model", "model.zip", "--onnx", "model.onnx", "--triton", "models");
        config.AddCommand<ScoreCommand>("score")
            .WithDescription("Score every image under a folder into a predictions CSV, in batches with bounded memory; run again to resume.")
            .WithExample("score", "--model", "model.onnx", "--data", "photos", "--out", "predictions.csv");
        config.AddCommand<ShowBatchCommand>("show-batch")
            .WithDescription("Draw an augmented training batch with its labels.")
            .WithExample("show-batch", "--data", "images", "--out", "batch.png");
        config.AddCommand<DownloadCommand>("download")
            .WithDescription("Fetch and extract a data set into the cache (fastai's untar_data): resumes partial downloads, checks size and SHA-256, refuses unsafe archive entries.")
            .WithExample("download", "pets")
            .WithExample("download", "pets", "--dest", "data");
    }
}
