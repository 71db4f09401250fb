using System.IO.Compression;

namespace PetsML.Transforms.Interop;

/// <summary>Reads one entry of an untrusted .zip into memory without letting it take more than a given size.</summary>
internal static class BoundedZipEntry
{
    /// <summary>
    /// The whole entry, refused with an <see cref="InvalidDataException"/> (naming the entry) when it declares or
    /// inflates to more than <paramref name="limit"/> bytes, or holds other than what it declares; at most
    /// <paramref name="limit"/> bytes are ever buffered.
    /// </summary>
    internal static byte[] Read(ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > limit)
            throw new InvalidDataException($"'{entry.FullName}' declares {entry.Length:N0} bytes, more than the {limit:N0} it can hold.");
        using var stream = entry.Open();
        var buffer = new MemoryStream((int)entry.Length);
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + read > limit)
                throw new InvalidDataException($"'{entry.FullName}' inflates to more than the {limit:N0} bytes it can hold.");
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length != entry.Length)
            throw new InvalidDataException($"'{entry.FullName}' holds {buffer.Length:N0} bytes, the zip says {entry.Length:N0}: the .zip is damaged.");
        return buffer.ToArray();
    }
}
