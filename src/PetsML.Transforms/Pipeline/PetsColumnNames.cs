namespace PetsML.Transforms.Pipeline;

/// <summary>
/// The column names PetsML's catalog methods use by default, written once: file -> label -> split ->
/// presize -> augment -> trainer.
/// </summary>
internal static class PetsColumnNames
{
    /// <summary>"ImagePath": the image file's path (text), produced by <c>mlContext.Data.LoadImageFiles</c>.</summary>
    public const string ImagePath = "ImagePath";

    /// <summary>"Label": the class, a key whose key values are the class names in ordinal order.</summary>
    public const string Label = "Label";

    /// <summary>"IsValidation": 1 for validation rows, 0 for training rows (Single, so FilterRowsByColumn works).</summary>
    public const string IsValidation = "IsValidation";

    /// <summary>"Image": the presized image, bytes 3×Size×Size (planar RGB).</summary>
    public const string Image = "Image";

    /// <summary>"Features": the model input, normalised floats 3×Size×Size.</summary>
    public const string Features = "Features";
}
