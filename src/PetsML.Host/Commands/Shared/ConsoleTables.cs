using System.Globalization;
using Microsoft.ML.Data;
using PetsML.Host.Interpretation;
using Spectre.Console;

namespace PetsML.Host.Commands.Shared;

/// <summary>Text renderings shared by evaluate, interpret and train.</summary>
public static class ConsoleTables
{
    internal static void WriteMetrics(IAnsiConsole human, MulticlassClassificationMetrics metrics, ClassificationInterpretation interpretation)
    {
        human.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{interpretation.Count} images: error_rate {interpretation.ErrorRate:0.000000}, accuracy (micro) {metrics.MicroAccuracy:0.000000}, macro accuracy {metrics.MacroAccuracy:0.000000}, log-loss {metrics.LogLoss:0.000000}"));
    }

    /// <summary>The confusion matrix as text (rows actual, columns predicted), when it fits a terminal.</summary>
    internal static void WriteConfusionMatrix(IAnsiConsole human, ClassificationInterpretation interpretation, int maxClasses = 12)
    {
        int c = interpretation.ClassNames.Count;
        if (c > maxClasses)
        {
            human.WriteLine($"Confusion matrix: {c} classes, too wide for text; see the picture (interpret --out DIR) or --json.");
            return;
        }
        var cm = interpretation.ConfusionMatrix();
        var table = new Table().Title("Confusion matrix (rows actual, columns predicted)").AddColumn("actual \\ predicted");
        foreach (var name in interpretation.ClassNames) table.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
        for (int a = 0; a < c; a++)
            table.AddRow(new[] { Markup.Escape(interpretation.ClassNames[a]) }.Concat(Enumerable.Range(0, c).Select(p => cm[a, p].ToString(CultureInfo.InvariantCulture))).ToArray());
        human.Write(table);
    }

    internal static void WriteMostConfused(IAnsiConsole human, IReadOnlyList<ConfusedPair> pairs, int minVal)
    {
        if (pairs.Count == 0) { human.WriteLine($"Most confused: no pair with {minVal} or more mistakes."); return; }
        var table = new Table().Title($"Most confused (min_val {minVal})").AddColumns("actual", "predicted", "count");
        foreach (var p in pairs) table.AddRow(Markup.Escape(p.Actual), Markup.Escape(p.Predicted), p.Count.ToString(CultureInfo.InvariantCulture));
        human.Write(table);
    }

    /// <summary>The confusion matrix as nested arrays for JSON.</summary>
    public static int[][] Rows(int[,] cm) => Enumerable.Range(0, cm.GetLength(0)).Select(a => Enumerable.Range(0, cm.GetLength(1)).Select(p => cm[a, p]).ToArray()).ToArray();
}
