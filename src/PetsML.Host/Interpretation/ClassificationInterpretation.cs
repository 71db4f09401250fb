using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Trainers.Training;

namespace PetsML.Host.Interpretation;

/// <summary>A pair of classes the model mixed up: <see cref="Count"/> items of <see cref="Actual"/> predicted as <see cref="Predicted"/>.</summary>
internal sealed record ConfusedPair(string Actual, string Predicted, int Count);

/// <summary>One validation item among the top losses.</summary>
/// <param name="Index">Position of the item in the interpreted order.</param>
/// <param name="Actual">The true class.</param>
/// <param name="Predicted">The most probable class.</param>
/// <param name="Loss">The item's loss.</param>
/// <param name="Probability">Probability of the predicted class (fastai shows this one, not the actual class's).</param>
/// <param name="ItemName">The item's name (usually its image path), when known.</param>
internal sealed record TopLoss(int Index, string Actual, string Predicted, float Loss, float Probability, string? ItemName);

/// <summary>
/// fastai's <c>ClassificationInterpretation</c> over predictions already made (validation items, in order):
/// the confusion matrix (rows = actual, columns = predicted), <c>most_confused</c> and <c>top_losses</c>.
/// </summary>
internal sealed class ClassificationInterpretation
{
    readonly float[][] _probabilities;

    /// <param name="classNames">Class names in class-index order.</param>
    /// <param name="probabilities">Per item, the probability of every class.</param>
    /// <param name="targets">Per item, the true class index.</param>
    /// <param name="losses">Per item, the loss (reduction none).</param>
    /// <param name="itemNames">Per item, a name such as the image path; optional.</param>
    public ClassificationInterpretation(IReadOnlyList<string> classNames, IReadOnlyList<float[]> probabilities, IReadOnlyList<int> targets,
        IReadOnlyList<float> losses, IReadOnlyList<string>? itemNames = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(losses);
        if (classNames.Count < 2) throw new ArgumentException("At least two classes are needed.", nameof(classNames));
        if (targets.Count != probabilities.Count || losses.Count != probabilities.Count || (itemNames is not null && itemNames.Count != probabilities.Count))
            throw new ArgumentException($"One target, loss and name per item: {probabilities.Count} items, {targets.Count} targets, {losses.Count} losses, {itemNames?.Count} names.");
        for (int i = 0; i < probabilities.Count; i++)
        {
            if (probabilities[i].Length != classNames.Count)
                throw new ArgumentException($"Item {i} has {probabilities[i].Length} probabilities; {classNames.Count} classes.", nameof(probabilities));
            if ((uint)targets[i] >= (uint)classNames.Count)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"Item {i}: target outside 0..{classNames.Count - 1}.");
        }
        ClassNames = classNames;
        _probabilities = probabilities.ToArray();
        Targets = targets.ToArray();
        Losses = losses.ToArray();
        ItemNames = itemNames;
        Predicted = _probabilities.Select(ArgMax).ToArray();
    }

    /// <summary>From <see cref="Learner.GetPreds"/> (fastai's <c>from_learner</c>).</summary>
    public static ClassificationInterpretation FromPredictions(Predictions predictions, IReadOnlyList<string> classNames, IReadOnlyList<string>? itemNames = null)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        int n = predictions.Count, k = (int)predictions.Probabilities.shape[1];
        var flat = predictions.Probabilities.data<float>().ToArray();
        var probabilities = Enumerable.Range(0, n).Select(i => flat.AsSpan(i * k, k).ToArray()).ToArray();
        var targets = predictions.Targets.data<long>().ToArray().Select(t => (int)t).ToArray();
        return new ClassificationInterpretation(classNames, probabilities, targets, predictions.Losses.data<float>().ToArray(), itemNames);
    }

    /// <summary>
    /// From the output of an ML.NET model (a "Score" vector with class names as slot names and a "Label" key).
    /// Rows with a missing label (key 0) are left out. The loss is cross-entropy, −ln p(actual), what
    /// fastai's <c>CrossEntropyLossFlat</c> gives per item.
    /// </summary>
    public static ClassificationInterpretation FromScoredData(IDataView scored, string labelColumnName = "Label", string scoreColumnName = "Score",
        string? itemColumnName = "ImagePath")
    {
        ArgumentNullException.ThrowIfNull(scored);
        var score = scored.Schema.GetColumnOrNull(scoreColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(scoreColumnName), $"Column '{scoreColumnName}' not found: score the data with the model first.");
        var label = scored.Schema.GetColumnOrNull(labelColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(labelColumnName), $"Column '{labelColumnName}' not found.");
        if (label.Type is not KeyDataViewType) throw new ArgumentException($"Column '{labelColumnName}' must be a key column; it is {label.Type}.", nameof(labelColumnName));
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        score.GetSlotNames(ref slotNames);
        var classNames = slotNames.DenseValues().Select(s => s.ToString()).ToList();
        var item = itemColumnName is null ? null : scored.Schema.GetColumnOrNull(itemColumnName);

        var probabilities = new List<float[]>();
        var targets = new List<int>();
        var losses = new List<float>();
        var names = new List<string>();
        var active = new List<DataViewSchema.Column> { score, label };
        if (item is { } ic) active.Add(ic);
        using var cursor = scored.GetRowCursor(active);
        var scoreGetter = cursor.GetGetter<VBuffer<float>>(score);
        var labelGetter = cursor.GetGetter<uint>(label);
        ValueGetter<ReadOnlyMemory<char>>? itemGetter = item is { } c ? cursor.GetGetter<ReadOnlyMemory<char>>(c) : null;
        VBuffer<float> s = default;
        ReadOnlyMemory<char> name = default;
        uint key = 0;
        while (cursor.MoveNext())
        {
            labelGetter(ref key);
            if (key == 0) continue;
            scoreGetter(ref s);
            var p = s.DenseValues().ToArray();
            int target = (int)key - 1;
            probabilities.Add(p);
            targets.Add(target);
            losses.Add((float)-Math.Log(Math.Max(p[target], float.Epsilon)));
            if (itemGetter is not null) { itemGetter(ref name); names.Add(name.ToString()); }
        }
        return new ClassificationInterpretation(classNames, probabilities, targets, losses, itemGetter is null ? null : names);
    }

    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<int> Targets { get; }
    public IReadOnlyList<float> Losses { get; }
    public IReadOnlyList<string>? ItemNames { get; }

    /// <summary>Per item, the most probable class (the lowest index on ties).</summary>
    public IReadOnlyList<int> Predicted { get; }

    /// <summary>Number of items.</summary>
    public int Count => Targets.Count;

    /// <summary>Per item, the probability of every class.</summary>
    public IReadOnlyList<float> ProbabilitiesOf(int item) => _probabilities[item];

    /// <summary>Fraction of items predicted wrongly.</summary>
    public double ErrorRate => Count == 0 ? double.NaN : (double)Enumerable.Range(0, Count).Count(i => Predicted[i] != Targets[i]) / Count;

    /// <summary>fastai's <c>confusion_matrix()</c>: C×C counts, cm[actual, predicted].</summary>
    public int[,] ConfusionMatrix()
    {
        int c = ClassNames.Count;
        var cm = new int[c, c];
        for (int i = 0; i < Count; i++) cm[Targets[i], Predicted[i]]++;
        return cm;
    }

    /// <summary>
    /// fastai's <c>most_confused(min_val)</c>: off-diagonal cells with at least <paramref name="minVal"/> items, enumerated
    /// row-major (actual, then predicted, in class order) and sorted by count, largest first, with a stable sort.
    /// </summary>
    public IReadOnlyList<ConfusedPair> MostConfused(int minVal = 1)
    {
        var cm = ConfusionMatrix();
        int c = ClassNames.Count;
        var pairs = new List<ConfusedPair>();
        for (int a = 0; a < c; a++)
            for (int p = 0; p < c; p++)
                if (a != p && cm[a, p] >= minVal && cm[a, p] > 0) pairs.Add(new ConfusedPair(ClassNames[a], ClassNames[p], cm[a, p]));
        return pairs.OrderByDescending(x => x.Count).ToList(); // OrderBy is stable
    }

    /// <summary>fastai's <c>top_losses(k, largest)</c>: the k items with the largest (or smallest) loss; all when k is null. Ties keep item order.</summary>
    public IReadOnlyList<TopLoss> TopLosses(int? k = null, bool largest = true)
    {
        if (k is < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be ≥ 0.");
        var order = Enumerable.Range(0, Count);
        var sorted = largest ? order.OrderByDescending(i => Losses[i]) : order.OrderBy(i => Losses[i]);
        return sorted.Take(k ?? Count).Select(i => new TopLoss(i, ClassNames[Targets[i]], ClassNames[Predicted[i]], Losses[i],
            _probabilities[i][Predicted[i]], ItemNames?[i])).ToList();
    }

    static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
