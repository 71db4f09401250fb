namespace PetsML.Transforms.Labeling;

/// <summary>Derives a class label from an image's path (fastai's <c>get_y</c>).</summary>
internal interface IImageLabeler
{
    /// <summary>The label for <paramref name="path"/>, or false when this labeler finds none.</summary>
    bool TryLabel(string path, out string label);

    /// <summary>The label for <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">No label can be derived; the message names the file.</exception>
    string Label(string path);
}
