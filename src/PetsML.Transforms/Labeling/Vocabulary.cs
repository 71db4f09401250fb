namespace PetsML.Transforms.Labeling;

/// <summary>
/// The classes, distinct and sorted ordinally (by UTF-16 code unit), with label ↔ index maps:
/// fastai's <c>CategoryMap</c> with <c>sort=True, add_na=False</c>.
/// </summary>
/// <remarks>
/// The order fixes every class index. fastai sorts with Python's default string order (code points),
/// so the 12 capitalised cat breeds come before the 25 lowercase dog breeds. A culture-aware .NET sort
/// would interleave them and change the indices; <see cref="StringComparer.Ordinal"/> does not.
/// fastai builds the vocabulary from the training split only; which labels to pass is the caller's choice.
/// </remarks>
internal sealed class Vocabulary
{
    private readonly string[] _labels;
    private readonly Dictionary<string, int> _index;

    private Vocabulary(string[] labels)
    {
        _labels = labels;
        _index = new Dictionary<string, int>(labels.Length, StringComparer.Ordinal);
        for (int i = 0; i < labels.Length; i++)
        {
            _index[labels[i]] = i;
        }
    }

    /// <summary>The distinct labels of <paramref name="labels"/>, sorted ordinally.</summary>
    /// <exception cref="ArgumentException">A label is null or there are no labels.</exception>
    public static Vocabulary Build(IEnumerable<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        int position = 0;
        foreach (string label in labels)
        {
            if (label is null)
            {
                throw new ArgumentException($"label at position {position} is null", nameof(labels));
            }

            distinct.Add(label);
            position++;
        }

        if (distinct.Count == 0)
        {
            throw new ArgumentException("no labels to build a vocabulary from", nameof(labels));
        }

        string[] sorted = distinct.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        return new Vocabulary(sorted);
    }

    /// <summary>The labels in index order.</summary>
    public IReadOnlyList<string> Labels => _labels;

    /// <summary>Number of classes.</summary>
    public int Count => _labels.Length;

    /// <summary>The label of class <paramref name="index"/>.</summary>
    public string this[int index] => _labels[index];

    /// <summary>The index of <paramref name="label"/> (ordinal match), or false if it is not in the vocabulary.</summary>
    public bool TryGetIndex(string label, out int index) => _index.TryGetValue(label, out index);

    /// <summary>The index of <paramref name="label"/>.</summary>
    /// <exception cref="KeyNotFoundException">The label is not in the vocabulary (e.g. seen only in validation).</exception>
    public int GetIndex(string label) =>
        _index.TryGetValue(label, out int index)
            ? index
            : throw new KeyNotFoundException($"label '{label}' is not in the vocabulary of {Count} classes");
}
