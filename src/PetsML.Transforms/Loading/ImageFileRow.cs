using Microsoft.ML.Data;
using PetsML.Transforms.Pipeline;

namespace PetsML;

/// <summary>One row of <c>mlContext.Data.LoadImageFiles</c>: an image file's path.</summary>
public sealed class ImageFileRow
{
    /// <summary>The full path of the image file.</summary>
    [ColumnName(PetsColumnNames.ImagePath)]
    public string ImagePath { get; set; } = "";
}
