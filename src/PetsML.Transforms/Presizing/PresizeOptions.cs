namespace PetsML;

/// <summary>
/// fastai's item transform <c>Resize(460)</c>: the target size and how to fit the image into it.
/// Defaults are in <see cref="Defaults"/>.
/// </summary>
public sealed class PresizeOptions
{
    /// <summary>The default values, written once (fastai's <c>Resize</c> defaults and the book's size).</summary>
    public static class Defaults
    {
        /// <summary>460: the pet-breeds chapter's presize, large enough for later 224-pixel augmented crops.</summary>
        public const int Size = 460;

        /// <summary><see cref="PresizeMethod.Crop"/>, fastai's default.</summary>
        public const PresizeMethod Method = PresizeMethod.Crop;

        /// <summary><see cref="PadMode.Reflection"/>, fastai's default (not zeros).</summary>
        public const PadMode PadMode = PetsML.PadMode.Reflection;
    }

    /// <summary>
    /// The side of the square output, in pixels; positive. Default <see cref="Defaults.Size"/> (460).
    /// <see cref="Width"/>/<see cref="Height"/> override one side each.
    /// </summary>
    public int Size { get; set; } = Defaults.Size;

    /// <summary>Output width when it differs from <see cref="Size"/>; positive. Default null: Size.</summary>
    public int? Width { get; set; }

    /// <summary>Output height when it differs from <see cref="Size"/>; positive. Default null: Size.</summary>
    public int? Height { get; set; }

    /// <summary>How the image is fitted. Default <see cref="Defaults.Method"/> (crop).</summary>
    public PresizeMethod Method { get; set; } = Defaults.Method;

    /// <summary>How padding is filled (Pad only). Default <see cref="Defaults.PadMode"/> (reflection).</summary>
    public PadMode PadMode { get; set; } = Defaults.PadMode;

    /// <summary>The output width in pixels: <see cref="Width"/> if set, else <see cref="Size"/>.</summary>
    public int TargetWidth => Width ?? Size;

    /// <summary>The output height in pixels: <see cref="Height"/> if set, else <see cref="Size"/>.</summary>
    public int TargetHeight => Height ?? Size;

    /// <summary>Length of one presized CHW image: 3·TargetWidth·TargetHeight bytes.</summary>
    public int OutputLength => checked(3 * TargetWidth * TargetHeight);

    /// <summary>Checks every option and throws on the first invalid one, naming it (ParamName and message).</summary>
    internal void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(Size), (int?)Size), (nameof(Width), Width), (nameof(Height), Height) })
            if (value is <= 0) throw new ArgumentOutOfRangeException(name, value, $"PresizeOptions.{name} must be positive.");
        if (!Enum.IsDefined(Method)) throw new ArgumentOutOfRangeException(nameof(Method), Method, "PresizeOptions.Method is not a known method.");
        if (!Enum.IsDefined(PadMode)) throw new ArgumentOutOfRangeException(nameof(PadMode), PadMode, "PresizeOptions.PadMode is not a known pad mode.");
    }

    /// <summary>A copy, so a component keeps the settings it was made with whatever the caller changes later.</summary>
    internal PresizeOptions Clone() => (PresizeOptions)MemberwiseClone();
}
