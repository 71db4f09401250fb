using System.Text.RegularExpressions;

namespace PetsML.Transforms.Labeling;

/// <summary>
/// fastai's <c>using_attr(RegexLabeller(pattern), 'name')</c>: a regular expression searched (not
/// anchored; <see cref="Regex.Match(string)"/> semantics) in the file <b>name</b> only, never the
/// folder; the label is the named group <c>label</c> if the pattern has one, else group 1.
/// </summary>
/// <remarks>
/// Matching is exactly as written (case-sensitive, the default .NET options), as in fastai, so the
/// default <see cref="OxfordPetsPattern"/> does not accept ".JPG". Write <c>(?i)</c> in the pattern to
/// ignore case.
/// </remarks>
internal sealed class RegexLabeler : IImageLabeler
{
    /// <summary>
    /// The pet-breeds chapter's pattern <c>(.+)_\d+.jpg$</c>: greedy, so breeds with underscores
    /// (<c>great_pyrenees_173.jpg</c>) keep them. The '.' before jpg is unescaped in fastai's pattern and
    /// is kept that way (it matches any character).
    /// </summary>
    public const string OxfordPetsPattern = @"(.+)_\d+.jpg$";

    private const string LabelGroupName = "label";
    private readonly Regex _regex;
    private readonly int _group;

    /// <summary>Compiles <paramref name="pattern"/> (default <see cref="OxfordPetsPattern"/>).</summary>
    /// <exception cref="ArgumentException">The pattern is invalid or has neither a group named <c>label</c> nor a group 1.</exception>
    public RegexLabeler(string pattern = OxfordPetsPattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        try
        {
            _regex = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"invalid label regex '{pattern}': {e.Message}", nameof(pattern), e);
        }

        int named = _regex.GroupNumberFromName(LabelGroupName);
        if (named >= 0)
        {
            _group = named;
        }
        else if (_regex.GetGroupNumbers().Contains(1))
        {
            _group = 1;
        }
        else
        {
            throw new ArgumentException(
                $"label regex '{pattern}' has no capture group: add (...) around the label or name it (?<label>...)",
                nameof(pattern));
        }

        Pattern = pattern;
    }

    /// <summary>The pattern as given.</summary>
    public string Pattern { get; }

    /// <summary>
    /// Searches the file name of <paramref name="path"/>; false when the pattern does not match, the
    /// label group did not take part in the match, or it captured an empty string.
    /// </summary>
    public bool TryLabel(string path, out string label)
    {
        ArgumentNullException.ThrowIfNull(path);
        Match match = _regex.Match(Path.GetFileName(path));
        Group group = match.Groups[_group];
        if (match.Success && group.Success && group.Length > 0)
        {
            label = group.Value;
            return true;
        }

        label = "";
        return false;
    }

    /// <inheritdoc/>
    public string Label(string path) =>
        TryLabel(path, out string label)
            ? label
            : throw new ArgumentException($"label regex '{Pattern}' does not match the file name '{Path.GetFileName(path)}' ({path})", nameof(path));
}
