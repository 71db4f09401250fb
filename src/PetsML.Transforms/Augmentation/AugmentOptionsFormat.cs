using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Presizing;

namespace PetsML.Transforms.Augmentation;

/// <summary>How <see cref="AugmentOptions"/> are written into a model .zip (in field order; keep it append-only).</summary>
internal static class AugmentOptionsFormat
{
    public static void Write(BinaryWriter w, AugmentOptions o)
    {
        w.Write(o.Size);
        w.Write(o.MinScale);
        w.Write(o.DoFlip);
        w.Write(o.MaxRotate);
        w.Write(o.MinZoom);
        w.Write(o.MaxZoom);
        w.Write(o.MaxLighting);
        w.Write(o.MaxWarp);
        w.Write(o.PAffine);
        w.Write(o.PLighting);
        w.Write((int)o.PadMode);
        for (int c = 0; c < 3; c++) w.Write(o.Normalization.Mean[c]);
        for (int c = 0; c < 3; c++) w.Write(o.Normalization.Std[c]);
    }

    /// <summary>
    /// A copy of <paramref name="o"/> with another <see cref="AugmentOptions.Size"/> (progressive resizing), made through
    /// this format so that no field is left out: Size is the first field written.
    /// </summary>
    public static AugmentOptions WithSize(AugmentOptions o, int size)
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        Write(w, o);
        stream.Position = 0;
        w.Write(size);
        stream.Position = 0;
        using var r = new BinaryReader(stream);
        return Read(r);
    }

    /// <summary>
    /// Reads what <see cref="Write"/> wrote. The size is checked against <see cref="ModelFileLimits.MaxImageSide"/> and
    /// every other option as <see cref="AugmentOptions.Validate"/> does; <paramref name="step"/> names the reader in the message.
    /// </summary>
    /// <exception cref="InvalidDataException">A size past its bound or an invalid option.</exception>
    public static AugmentOptions Read(BinaryReader r, string step = "AugmentImages")
    {
        var options = ReadUnchecked(r, ModelFileLimits.Side(r.ReadInt32(), step, "an augment size of"));
        try { options.Validate(); }
        catch (ArgumentException e) { throw ModelFileLimits.Bad(step, $"declares an invalid augmentation ({e.Message})"); }
        return options;
    }

    static AugmentOptions ReadUnchecked(BinaryReader r, int size) => new()
    {
        Size = size,
        MinScale = r.ReadDouble(),
        DoFlip = r.ReadBoolean(),
        MaxRotate = r.ReadDouble(),
        MinZoom = r.ReadDouble(),
        MaxZoom = r.ReadDouble(),
        MaxLighting = r.ReadDouble(),
        MaxWarp = r.ReadDouble(),
        PAffine = r.ReadDouble(),
        PLighting = r.ReadDouble(),
        PadMode = (PadMode)r.ReadInt32(),
        Normalization = new NormalizationStats(
            new[] { r.ReadSingle(), r.ReadSingle(), r.ReadSingle() },
            new[] { r.ReadSingle(), r.ReadSingle(), r.ReadSingle() }),
    };
}
