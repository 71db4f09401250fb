using System.Text.RegularExpressions;
using PetsML.Transforms.Labeling;

namespace PetsML.Host.Commands.Review;

/// <summary>
/// Where a photo's class is written, and how to write another one: the folder that holds it (a relabel moves the photo
/// into the sibling folder named after the class) or a regex on the file name (a relabel renames the file so that the
/// regex reads the new class). Paths are relative to the data folder, '/'-separated.
/// </summary>
internal sealed class PhotoLabels
{
    readonly Regex? _regex;
    readonly int _group;

    PhotoLabels(string? pattern)
    {
        Pattern = pattern;
        if (pattern is null) return;
        _ = new RegexLabeler(pattern); // the same checks (a label group) and messages as training's
        _regex = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        _group = _regex.GroupNumberFromName("label") is int named and >= 0 ? named : 1;
    }

    /// <summary>Labels from the folder that holds each photo (<c>LabelFromFolderName</c>).</summary>
    public static PhotoLabels FromFolders() => new(null);

    /// <summary>Labels from the file name (<c>LabelFromFileName(pattern)</c>).</summary>
    public static PhotoLabels FromFileNames(string pattern) => new(pattern);

    /// <summary>The regex, or null when the folder names the class.</summary>
    public string? Pattern { get; }

    /// <summary>The class of <paramref name="relative"/>, or null when it has none.</summary>
    public string? LabelOf(string relative)
    {
        var name = relative[(relative.LastIndexOf('/') + 1)..];
        if (_regex is null)
        {
            int slash = relative.LastIndexOf('/');
            if (slash < 0) return null; // directly in the data folder: no class folder
            var folder = relative[..slash];
            return folder[(folder.LastIndexOf('/') + 1)..];
        }
        var group = _regex.Match(name).Groups[_group];
        return group.Success && group.Length > 0 ? group.Value : null;
    }

    /// <summary>
    /// Where <paramref name="relative"/> goes to be read as <paramref name="label"/>: the first of the name itself and
    /// the name with 1, 2, ... before its extension that <paramref name="isFree"/> accepts and that reads as the label.
    /// </summary>
    public string Relabeled(string relative, string label, Func<string, bool> isFree)
    {
        if (!IsSafeClassName(label)) throw new ReviewException(400, $"'{ReviewPaths.Printable(label)}' cannot be written into a file or folder name.");
        int slash = relative.LastIndexOf('/');
        string folder = slash < 0 ? "" : relative[..slash], name = relative[(slash + 1)..];
        string targetFolder, targetName;
        if (_regex is null)
        {
            int parent = folder.LastIndexOf('/');
            targetFolder = folder.Length == 0 ? label : parent < 0 ? label : folder[..parent] + "/" + label;
            targetName = name;
        }
        else
        {
            var group = _regex.Match(name).Groups[_group];
            if (!group.Success) throw new ReviewException(400, $"'{ReviewPaths.Printable(relative)}': the label regex '{Pattern}' does not match its name, so it cannot be renamed to another class.");
            targetFolder = folder;
            targetName = name[..group.Index] + label + name[(group.Index + group.Length)..];
        }
        string stem = Path.GetFileNameWithoutExtension(targetName), extension = Path.GetExtension(targetName);
        for (int n = 0; n < 1000; n++)
        {
            var candidate = (targetFolder.Length == 0 ? "" : targetFolder + "/") + (n == 0 ? targetName : $"{stem}{n}{extension}");
            if (ReviewPaths.Problem(candidate) is null && LabelOf(candidate) == label && isFree(candidate)) return candidate;
        }
        throw new ReviewException(409, $"'{ReviewPaths.Printable(relative)}': found no free name that reads as '{ReviewPaths.Printable(label)}'" +
            (_regex is null ? "." : $" with the label regex '{Pattern}'."));
    }

    /// <summary>A class name that can be one path segment: no separator, not hidden, no control character.</summary>
    public static bool IsSafeClassName(string label)
        => label.Length is > 0 and <= 255 && !label.StartsWith('.') && !label.Any(c => c is '/' or '\\' or ':' || char.IsControl(c))
           && label.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;
}
