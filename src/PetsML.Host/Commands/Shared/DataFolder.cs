using PetsML.Host.Cli;
using PetsML.Host.Demo;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// What a --data value names: a folder of the user's, the built-in demo photos when it is not given, or the drawn
/// demo set for <see cref="Drawn"/> (generated on first use: a quick check that needs no photos).
/// </summary>
public static class DataFolder
{
    /// <summary>The --data value that chooses the drawn demo set (<see cref="DemoDataSet"/>).</summary>
    public const string Drawn = "demo:drawn";

    /// <summary>The folder to read for <paramref name="data"/>; a folder that does not exist is bad input naming --data.</summary>
    public static string Resolve(string? data)
    {
        if (data == Drawn) return DemoDataSet.Ensure();
        if (data is null)
        {
            var photos = DemoPhotos.Folder;
            if (!File.Exists(Path.Combine(photos, DemoPhotos.LicenseFileName)))
                throw new BadInputException($"--data: the built-in demo photos are missing from '{photos}' (they are copied there at build); give a folder with --data.");
            return photos;
        }
        if (!Directory.Exists(data))
            throw new BadInputException($"--data: folder '{data}' does not exist.");
        return data;
    }
}
