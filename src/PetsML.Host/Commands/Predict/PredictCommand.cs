using System.ComponentModel;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Shared;
using PetsML.Host.Commands.Train;
using PetsML.Trainers.Training;
using PetsML.Transforms.Loading;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PetsML.Host.Commands.Predict;

/// <summary>
/// <c>petsml predict</c>: fastai's <c>learn.predict(img)</c> for each image: the breed and the top probabilities, or
/// <c>unknown (closest: Bengal, 41%)</c> when the model's IsUnknown says the photo is none of its classes.
/// </summary>
public sealed class PredictCommand(HostConsole console) : Command<PredictCommand.Settings>
{
    public sealed class Settings : ModelSettings
    {
        [CommandArgument(0, "<IMAGE>")]
        [Description("One or more image files.")]
        public string[] Images { get; set; } = [];

        [CommandOption("--top <K>")]
        [Description("How many classes to show per image, most probable first.")]
        [DefaultValue(3)]
        public int Top { get; set; } = 3;

        [CommandOption("--tta")]
        [Description(TestTimeAugmentation.Help)]
        [DefaultValue(false)]
        public bool Tta { get; set; }

        [CommandOption("--explain <PNG>")]
        [Description("Write the Grad-CAM heat map of the predicted class over the picture the network saw (centre crop) to this PNG. Needs exactly one IMAGE.")]
        public string? Explain { get; set; }

        public override ValidationResult Validate()
        {
            if (Images.Length == 0) return ValidationResult.Error("Give at least one IMAGE.");
            if (Explain is not null && Images.Length != 1) return ValidationResult.Error($"--explain writes the heat map of one IMAGE; got {Images.Length}.");
            if (Explain is not null && string.IsNullOrWhiteSpace(Explain)) return ValidationResult.Error("--explain must name a PNG file.");
            if (Top < 1) return ValidationResult.Error($"--top must be at least 1; got {Top}.");
            return base.Validate();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var human = console.Human(settings.Json);
        var mlContext = new MLContext(seed: 0);
        if (settings.Explain is { } explainPath) OutputFile.EnsureWritable(explainPath, "--explain");
        using var saved = SavedModel.Load(mlContext, settings);
        var results = new List<object>();
        int failed = 0;
        var table = new Table().AddColumns("image", "prediction", "probability", $"top {Math.Min(settings.Top, saved.ClassNames.Count)}");
        foreach (var image in settings.Images)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!File.Exists(image))
            {
                console.Fail($"{image}: file does not exist.");
                results.Add(new { image, error = "file does not exist" });
                failed++;
                continue;
            }
            float[] probabilities;
            float outlierScore;
            bool unknown;
            try { (probabilities, outlierScore, unknown) = Score(mlContext, saved.Model, image, settings.Tta); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var message = e.GetBaseException().Message;
                console.Fail($"{image}: cannot be read as an image ({message}).");
                results.Add(new { image, error = message });
                failed++;
                continue;
            }
            var top = probabilities.Select((p, i) => (Class: saved.ClassNames[i], Probability: p))
                .OrderByDescending(x => x.Probability).Take(settings.Top).ToList();
            string? heatmap = null;
            if (settings.Explain is { } explain)
            {
                // The plain prediction's class (without --tta the same as the row above): what the network looked at for it.
                var map = Heatmaps.OfFiles(mlContext, saved.Model, [image])[0];
                var png = map.ToPng();
                AtomicFile.Write(explain, temporary => File.WriteAllBytes(temporary, png));
                heatmap = Path.GetFullPath(explain);
                human.WriteLine($"Heat map of {map.ClassName} ({map.Width}x{map.Height}, the centre crop the network saw): {explain}");
            }
            results.Add(new
            {
                image, prediction = top[0].Class, probability = top[0].Probability, unknown,
                outlier_score = float.IsNaN(outlierScore) ? (float?)null : outlierScore,
                top = top.Select(t => new { @class = t.Class, probability = t.Probability }), heatmap,
            });
            table.AddRow(Markup.Escape(image), Markup.Escape(Describe(top[0].Class, top[0].Probability, unknown)), top[0].Probability.ToString("0.0000", CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(", ", top.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Class} {t.Probability:0.000}")))));
        }
        if (table.Rows.Count > 0) human.Write(table);
        if (settings.Json) console.WriteJson(new { command = "predict", model = settings.Model, tta = settings.Tta, predictions = results });
        return failed == 0 ? ExitCodes.Success : ExitCodes.BadInput;
    }

    /// <summary>The prediction as printed: the class, or "unknown (closest: Bengal, 41%)" for a photo the model flags.</summary>
    internal static string Describe(string closest, float probability, bool unknown) =>
        unknown ? string.Create(CultureInfo.InvariantCulture, $"unknown (closest: {closest}, {probability:0%})") : closest;

    static (float[] Probabilities, float OutlierScore, bool Unknown) Score(MLContext mlContext, ITransformer model, string image, bool tta)
    {
        var rows = mlContext.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = image } });
        var view = tta ? TestTimeAugmentation.Score(model, rows) : model.Transform(rows);
        var score = view.Schema["Score"];
        // Models saved before the calibration still have both columns (NaN, false) once loaded by this PetsML.
        var outlier = view.Schema.GetColumnOrNull(ImageClassifierTransformer.OutlierScoreColumnName);
        var unknown = view.Schema.GetColumnOrNull(ImageClassifierTransformer.IsUnknownColumnName);
        using var cursor = view.GetRowCursor(new[] { score }.Concat(outlier is { } o ? [o] : []).Concat(unknown is { } u ? [u] : []));
        var getter = cursor.GetGetter<VBuffer<float>>(score);
        VBuffer<float> value = default;
        float outlierScore = float.NaN;
        bool isUnknown = false;
        cursor.MoveNext();
        getter(ref value);
        if (outlier is { } oc) cursor.GetGetter<float>(oc)(ref outlierScore);
        if (unknown is { } uc) cursor.GetGetter<bool>(uc)(ref isUnknown);
        return (value.DenseValues().ToArray(), outlierScore, isUnknown);
    }
}
