using System.Globalization;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Presizing;

namespace PetsML.Onnx.Export;

/// <summary>
/// The validation preprocessing of a PetsML pipeline, split into what a caller of the exported ONNX file does
/// (decode, presize, centre crop and resize to <see cref="ImageSize"/>) and what the graph does (uint8 → float,
/// the normalisation). Written into the file's metadata_props so a serving job can read it.
/// </summary>
/// <param name="Presize">The presize step (fastai's item <c>Resize(460)</c>: method, target size).</param>
/// <param name="ImageSize">The trained input side (the augmentation's Size, 224 by default).</param>
/// <param name="Normalization">Per-channel statistics the network was fed with (inside the graph).</param>
internal sealed record OnnxPreprocessing(PresizeOptions Presize, int ImageSize, NormalizationStats Normalization)
{
    /// <summary>PetsML's defaults: crop-presize to 460, 224 input, ImageNet statistics.</summary>
    public static OnnxPreprocessing Default => new(new PresizeOptions(), 224, NormalizationStats.ImageNet);

    /// <summary>What a caller must do before feeding the graph, in words (the metadata key "petsml.preprocessing").</summary>
    public string Describe()
    {
        var presize = Presize.Method switch
        {
            PresizeMethod.Crop => $"cut the centred largest box of aspect {Presize.TargetWidth}:{Presize.TargetHeight} and resize it to {Presize.TargetWidth}x{Presize.TargetHeight}",
            PresizeMethod.Squish => $"resize the whole image to {Presize.TargetWidth}x{Presize.TargetHeight} ignoring its aspect ratio",
            _ => $"pad it ({Presize.PadMode}) to aspect {Presize.TargetWidth}:{Presize.TargetHeight} and resize it to {Presize.TargetWidth}x{Presize.TargetHeight}",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"Outside the graph: decode the image, apply its EXIF orientation, convert to RGB; {presize} (antialiased bilinear); " +
            $"take the centred square of that and resize it to {ImageSize}x{ImageSize} (bilinear, area pre-averaging when shrinking " +
            $"by more than 2x); round to uint8. A plain resize of the shorter side to {ImageSize} and a centre crop of " +
            $"{ImageSize}x{ImageSize} is close but not identical. Inside the graph: x/255, minus mean [{Join(Normalization.Mean)}], " +
            $"divided by std [{Join(Normalization.Std)}], the network, softmax.");
    }

    private static string Join(float[] values) => string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
}
