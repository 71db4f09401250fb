namespace PetsML.Transforms.Labeling;

/// <summary>
/// Label = the name of the folder holding the file (fastai's <c>parent_label</c>), for data sets laid
/// out as <c>root/&lt;class&gt;/&lt;image&gt;</c>.
/// </summary>
internal sealed class FolderLabeler : IImageLabeler
{
    /// <summary>The parent folder's name; false when the path has no parent folder.</summary>
    public bool TryLabel(string path, out string label)
    {
        ArgumentNullException.ThrowIfNull(path);
        string? parent = Path.GetDirectoryName(path);
        label = string.IsNullOrEmpty(parent) ? "" : Path.GetFileName(parent);
        return label.Length > 0;
    }

    /// <inheritdoc/>
    public string Label(string path) =>
        TryLabel(path, out string label)
            ? label
            : throw new ArgumentException($"'{path}' has no parent folder to take a label from", nameof(path));
}
