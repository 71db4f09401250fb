using PetsML.Transforms.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace PetsML.Transforms.Imaging;

/// <summary>
/// Where one image comes from: a file path, encoded bytes or an already decoded <see cref="MLImage"/> —
/// the three image columns ML.NET users have (a path, <c>LoadRawImageBytes</c>, <c>LoadImages</c>).
/// </summary>
internal abstract class ImageSource
{
    /// <summary>A name for messages: the path, or "row N".</summary>
    public abstract string Name { get; }

    /// <summary>Decodes to RGB; errors are <see cref="ImageDecodeException"/>s naming <see cref="Name"/>.</summary>
    public abstract RgbImage Decode(ImageDecodeOptions options);

    /// <summary>
    /// Why this source is certainly not a decodable image (missing or unreadable file, zero bytes, no JPEG/PNG/GIF/BMP/WebP
    /// signature), from its first bytes only; null when it may be one. A file that passes can still be corrupt further in.
    /// </summary>
    internal virtual string? SignatureProblem(ImageDecodeOptions decode) => null;

    static string? SignatureProblem(ReadOnlySpan<byte> head) =>
        head.IsEmpty ? "zero-byte file"
        : ImageSignature.Detect(head) == ImageFormat.Unknown ? $"not an image (no {ImageSignature.KnownFormats} signature)"
        : null;

    public static ImageSource FromFile(string path) => new FileSource(path);
    public static ImageSource FromBytes(byte[] bytes, string name) => new BytesSource(bytes, name);
    public static ImageSource FromImage(RgbImage image, string name) => new DecodedSource(image, name);

    sealed class FileSource(string path) : ImageSource
    {
        public override string Name => path;
        public override RgbImage Decode(ImageDecodeOptions options) => ImageDecoder.DecodeFile(path, options);

        internal override string? SignatureProblem(ImageDecodeOptions decode)
        {
            Span<byte> head = stackalloc byte[32];
            try
            {
                using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
                {
                    if (SignatureProblem(head[..file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)]) is { } problem) return problem;
                    if (file.Length > ImageDecoder.MaxFileBytes(decode))
                        return $"{file.Length} bytes, more than any image of at most {decode.MaxPixels} pixels takes (ImageDecodeOptions.MaxPixels)";
                }
                return ImageDecoder.HeaderSizeProblem(path, decode);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"cannot be read ({e.Message})";
            }
        }
    }

    sealed class BytesSource(byte[] bytes, string name) : ImageSource
    {
        public override string Name => name;
        public override RgbImage Decode(ImageDecodeOptions options) => ImageDecoder.Decode(bytes, name, options);

        internal override string? SignatureProblem(ImageDecodeOptions decode) => SignatureProblem(bytes.AsSpan(0, Math.Min(bytes.Length, 32)));
    }

    sealed class DecodedSource(RgbImage image, string name) : ImageSource
    {
        public override string Name => name;
        public override RgbImage Decode(ImageDecodeOptions options) => image;
    }

    /// <summary>
    /// A function that reads the current row's image column as a source. Paths and bytes stay encoded
    /// (decoded later, possibly on another thread); an MLImage is converted right away, because ML.NET
    /// disposes it when the cursor moves.
    /// </summary>
    internal static Func<ImageSource> MakeReader(DataViewRow row, string columnName) => MakeReader(row, row.Schema[columnName]);

    /// <inheritdoc cref="MakeReader(DataViewRow, string)"/>
    internal static Func<ImageSource> MakeReader(DataViewRow row, DataViewSchema.Column column)
    {
        var columnName = column.Name;
        switch (column.Type)
        {
            case TextDataViewType:
            {
                var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
                ReadOnlyMemory<char> path = default;
                return () => { getter(ref path); return FromFile(path.ToString()); };
            }
            case VectorDataViewType v when v.ItemType == NumberDataViewType.Byte:
            {
                var getter = row.GetGetter<VBuffer<byte>>(column);
                VBuffer<byte> bytes = default;
                return () => { getter(ref bytes); return FromBytes(bytes.ToDenseArray(), $"row {row.Position} of column '{columnName}'"); };
            }
            case ImageDataViewType:
            {
                var getter = row.GetGetter<MLImage>(column);
                MLImage image = null!;
                return () =>
                {
                    getter(ref image);
                    var name = $"row {row.Position} of column '{columnName}'";
                    if (image is null) throw new ImageDecodeException(name, ImageDecodeFailure.Unreadable, $"{name}: no image (the MLImage is missing)");
                    return FromImage(ImageDecoder.FromMLImage(image, name), name);
                };
            }
            default:
                throw new ArgumentOutOfRangeException(columnName, $"Column '{columnName}' of type {column.Type} is not an image column.");
        }
    }
}
