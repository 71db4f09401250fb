namespace PetsML;

/// <summary>Why an image could not be decoded.</summary>
public enum ImageDecodeFailure
{
    /// <summary>The file has zero bytes.</summary>
    Empty,

    /// <summary>The bytes do not start with a JPEG, PNG, GIF, BMP or WebP signature.</summary>
    NotAnImage,

    /// <summary>The signature is known but the data is truncated or corrupt.</summary>
    Corrupt,

    /// <summary>width·height exceeds <see cref="ImageDecodeOptions.MaxPixels"/>, or the file is larger than any image within it can be.</summary>
    TooLarge,

    /// <summary>The file could not be read, or the decoder cannot handle this variant of the format.</summary>
    Unreadable,
}

/// <summary>
/// An image file that could not be decoded. The message names the file and the reason in plain
/// words, e.g. "cat_1.jpg: zero-byte file".
/// </summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string sourceName, ImageDecodeFailure reason, string detail, Exception? innerException = null)
        : base($"{sourceName}: {detail}", innerException)
    {
        SourceName = sourceName;
        Reason = reason;
    }

    /// <summary>The file name or path (whatever the caller passed as the source name).</summary>
    public string SourceName { get; }

    /// <summary>Why decoding failed.</summary>
    public ImageDecodeFailure Reason { get; }
}
