namespace PetsML.Transforms.Interop.MlNet;

/// <summary>
/// The bound on every size a PetsML model .zip declares, checked by each step's loader as it reads the size and before
/// anything is allocated or computed from it (docs/guarantees.md lists them). A model .zip is as hostile as any input
/// file: two edited bytes of a Presize size (40 to 8000) used to make one prediction take 1.96 GB.
/// </summary>
internal static class ModelFileLimits
{
    /// <summary>
    /// Largest image side a step may declare: Presize's Size, Width and Height, AugmentImages' Size and the classifier's
    /// image size. One 4096×4096 image is 50 MB of presized bytes and 200 MB of normalised floats.
    /// </summary>
    public const int MaxImageSide = 4096;

    /// <summary>
    /// Largest decode limit (<see cref="ImageDecodeOptions.MaxPixels"/>) a model may declare: the default, Pillow's
    /// 89,478,485 pixels (about 358 MB of RGBA). A model may lower it, never raise it.
    /// </summary>
    public const long MaxDecodePixels = ImageDecodeOptions.Defaults.MaxPixels;

    /// <summary>Most class names a label step or the classifier may declare (above ImageNet-21k's 21,841).</summary>
    public const int MaxLabels = 30_000;

    /// <summary>
    /// Most training photos whose pooled features the image classifier keeps for its outlier score (docs/calibration.md):
    /// Fit keeps a seeded sample of this many; ResNet-18's 1,024 features make that 4 MB, ResNet-50's 4,096 make 16 MB.
    /// </summary>
    public const int MaxOutlierFeatureRows = 1_000;

    /// <summary>Most validation keys a RandomSplit may declare: one per validation photo (Pets has 7,390 photos in all).</summary>
    public const int MaxSplitKeys = 10_000_000;

    /// <summary>The refusal of a model .zip, naming the step and what it declares.</summary>
    public static InvalidDataException Bad(string step, string reason)
        => new($"The {step} step in this model .zip {reason}: it was not written by PetsML, or it is damaged.");

    /// <summary>Checks an image side read from the file against <see cref="MaxImageSide"/>.</summary>
    public static int Side(int value, string step, string field)
    {
        if (value is < 1 or > MaxImageSide)
            throw Bad(step, $"declares {field} {value:N0} (at least 1, at most {MaxImageSide:N0}, ModelFileLimits.MaxImageSide)");
        return value;
    }

    /// <summary>
    /// Reads a count of items that follow (strings, at least one byte each) and checks it against <paramref name="max"/>
    /// and against the bytes left in the entry, before any collection is sized by it.
    /// </summary>
    public static int Count(BinaryReader r, string step, string what, int max, string limitName)
    {
        int count = r.ReadInt32();
        if (count < 0 || count > max)
            throw Bad(step, $"declares {count:N0} {what} (at most {max:N0}, ModelFileLimits.{limitName})");
        if (r.BaseStream.CanSeek && count > r.BaseStream.Length - r.BaseStream.Position)
            throw Bad(step, $"declares {count:N0} {what} but has room for fewer");
        return count;
    }

    /// <summary>Checks that an enum value read from the file is one PetsML defines.</summary>
    public static T Defined<T>(int value, string step, string field) where T : struct, Enum
    {
        var e = (T)(object)value;
        if (!Enum.IsDefined(e)) throw Bad(step, $"has an unknown {field} ({value})");
        return e;
    }
}
