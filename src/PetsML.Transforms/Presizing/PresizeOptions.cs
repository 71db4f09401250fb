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

    private int _size = Defaults.Size;
    private int? _width;
    private int? _height;

    /// <summary>
    /// The side of the square output, in pixels. The default value is 460 (<see cref="Defaults.Size"/>).
    /// <see cref="Width"/>/<see cref="Height"/> override one side each.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int Size
    {
        get => _size;
        set => _size = Positive(value, nameof(Size));
    }

    /// <summary>Output width when it differs from <see cref="Size"/>; null (the default) means Size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? Width
    {
        get => _width;
        set => _width = value is int v ? Positive(v, nameof(Width)) : null;
    }

    /// <summary>Output height when it differs from <see cref="Size"/>; null (the default) means Size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int? Height
    {
        get => _height;
        set => _height = value is int v ? Positive(v, nameof(Height)) : null;
    }

    /// <summary>How the image is fitted. The default value is <see cref="PresizeMethod.Crop"/>.</summary>
    public PresizeMethod Method { get; set; } = Defaults.Method;

    /// <summary>How padding is filled (Pad only). The default value is <see cref="PadMode.Reflection"/>.</summary>
    public PadMode PadMode { get; set; } = Defaults.PadMode;

    /// <summary>The output width in pixels: <see cref="Width"/> if set, else <see cref="Size"/>.</summary>
    public int TargetWidth => _width ?? _size;

    /// <summary>The output height in pixels: <see cref="Height"/> if set, else <see cref="Size"/>.</summary>
    public int TargetHeight => _height ?? _size;

    /// <summary>Length of one presized CHW image: 3·TargetWidth·TargetHeight bytes.</summary>
    public int OutputLength => checked(3 * TargetWidth * TargetHeight);

    private static int Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"PresizeOptions.{name} must be positive.");
        }

        return value;
    }
}
