using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Host.Demo;
using PetsML.Tests.Support;
using PetsML.Transforms.Imaging;
using PetsML.Transforms.Labeling;
using PetsML.Transforms.Loading;

namespace PetsML.Tests.Host;

/// <summary>
/// The built-in demo photos ship with the program: they are in the build output, are real JPEGs the project's
/// decoder reads, fall into the three breeds under the lesson's regex, carry their licence, and are what the
/// commands read when --data is not given.
/// </summary>
[TestClass]
public sealed class DemoPhotosTests
{
    [TestMethod]
    public void Demo_photos_are_in_the_build_output_decode_and_are_labelled_into_three_breeds()
    {
        var listing = ImageFileListing.List(DemoPhotos.Folder);
        Assert.AreEqual(0, listing.SkippedNonImage.Count);
        Assert.AreEqual(DemoPhotos.Breeds.Length * DemoPhotos.ImagesPerBreed, listing.Files.Count);

        var labeler = new RegexLabeler(RegexLabeler.OxfordPetsPattern);
        var perBreed = new Dictionary<string, int>(StringComparer.Ordinal);
        long bytes = 0;
        foreach (var path in listing.Files)
        {
            var content = File.ReadAllBytes(path);
            bytes += content.Length;
            Assert.IsTrue(content is [0xFF, 0xD8, 0xFF, ..], $"{path} is not a JPEG");
            var image = ImageDecoder.DecodeFile(path);
            Assert.IsTrue(Math.Max(image.Width, image.Height) <= 500 && Math.Min(image.Width, image.Height) >= 100,
                $"{path} is {image.Width}x{image.Height}");
            var breed = labeler.Label(path);
            perBreed[breed] = perBreed.GetValueOrDefault(breed) + 1;
        }
        CollectionAssert.AreEquivalent(DemoPhotos.Breeds, perBreed.Keys.ToArray());
        foreach (var (breed, count) in perBreed) Assert.AreEqual(DemoPhotos.ImagesPerBreed, count, breed);
        Assert.IsTrue(bytes < 4_000_000, $"the demo photos take {bytes} bytes");
    }

    [TestMethod]
    public void Demo_photos_carry_their_licence_and_attribution()
    {
        var license = File.ReadAllText(Path.Combine(DemoPhotos.Folder, DemoPhotos.LicenseFileName));
        foreach (var needed in new[] { "CC BY-SA 4.0", "Parkhi", "Cats and Dogs", "2012", "resized" })
            StringAssert.Contains(license, needed);
    }

    [TestMethod]
    public void Without_data_the_commands_read_the_demo_photos()
    {
        using var temp = new TempFolder("petsml-demo");
        var picture = temp.Combine("batch.png");
        var result = HostRunner.Run("show-batch", "--out", picture, "--max-images", "4", "--json");
        Assert.AreEqual(ExitCodes.Success, result.ExitCode, result.Error);
        using var json = JsonDocument.Parse(result.Json);
        Assert.AreEqual(Path.GetFullPath(DemoPhotos.Folder), Path.GetFullPath(json.RootElement.GetProperty("data").GetString()!));
        Assert.AreEqual(4, json.RootElement.GetProperty("images").GetInt32());
        Assert.IsTrue(new FileInfo(picture).Length > 0);
        StringAssert.Contains(result.Error, "90 images, 3 classes");
    }
}
