namespace PetsML.Host.Demo;

/// <summary>
/// The built-in demo the commands use without --data: 90 real Oxford-IIIT Pet photos, 30 each of Abyssinian,
/// Bengal and american_bulldog, at most 500 px on the long side, with their original file names. They live in
/// the repository at src/PetsML.Host/Demo/pets (with LICENSE.md: CC BY-SA 4.0, Parkhi et al. 2012, and how they
/// were chosen and resized) and are copied next to the program at build and publish, so a fresh clone needs
/// nothing else.
/// </summary>
public static class DemoPhotos
{
    public static readonly string[] Breeds = { "Abyssinian", "Bengal", "american_bulldog" };

    /// <summary>Photos per breed.</summary>
    public const int ImagesPerBreed = 30;

    /// <summary>The licence and attribution file that travels with the photos.</summary>
    public const string LicenseFileName = "LICENSE.md";

    /// <summary>The photos' folder in the program's output: &lt;program folder&gt;/Demo/pets.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Demo", "pets");
}
