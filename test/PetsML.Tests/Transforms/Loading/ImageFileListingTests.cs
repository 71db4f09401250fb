using PetsML.Tests.Transforms.Imaging;
using PetsML.Transforms.Loading;

namespace PetsML.Tests.Transforms.Loading;

[TestClass]
public sealed class ImageFileListingTests
{
    private string _root = "";

    [TestInitialize]
    public void CreateFolder() => _root = TestImages.TempFolder();

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_root, recursive: true);

    [TestMethod]
    public void ListsRecursively_SortedOrdinally_SkippingDotNames()
    {
        // Created in an order unrelated to the expected one; listing content does not matter, only names.
        Touch("b.jpg", "sub2/y.Webp", "a/b/c.jpeg", "a/Z.JPG", "A.png", "_.gif", "a.jpg", "x.JFIF", "q.jpe", "m.bmp",
            ".hidden.jpg", ".git/inside.jpg", "a/.cache/deep.png",
            "notes.txt", "list.mat", "scan.tif", "icon.ICO", "a/photo.heic");

        ImageFileList list = ImageFileListing.List(_root);

        // Ordinal on '/'-separated relative paths: 'A' < '_' < 'a', and "a.jpg" < "a/…" because '.' < '/'.
        string[] expected = ["A.png", "_.gif", "a.jpg", "a/Z.JPG", "a/b/c.jpeg", "b.jpg", "m.bmp", "q.jpe", "sub2/y.Webp", "x.JFIF"];
        CollectionAssert.AreEqual(expected.Select(Full).ToArray(), list.Files.ToArray());
        CollectionAssert.AreEqual(new[] { "a/photo.heic", "icon.ICO", "scan.tif" }.Select(Full).ToArray(), list.SkippedNonImage.ToArray());
        Assert.AreEqual(2, list.IgnoredFileCount);
        Assert.AreEqual(Path.GetFullPath(_root), list.Folder);
    }

    [TestMethod]
    public void NonRecursive_ListsTheTopFolderOnly()
    {
        Touch("b.jpg", "a/c.jpg", "a.png");
        ImageFileList list = ImageFileListing.List(_root, recursive: false);
        CollectionAssert.AreEqual(new[] { Full("a.png"), Full("b.jpg") }, list.Files.ToArray());
    }

    [TestMethod]
    public void MissingFolder_IsDirectoryNotFound_NamingIt()
    {
        string missing = Path.Combine(_root, "nope");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ImageFileListing.List(missing));
        StringAssert.Contains(e.Message, missing);
    }

    [TestMethod]
    public void FolderWithoutImages_SaysWhatWasLookedForAndSkipped()
    {
        Touch("readme.txt", "scan.tiff", ".hidden.jpg");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ImageFileListing.List(_root));
        StringAssert.StartsWith(e.Message, $"no images in {_root} (looked for .jpg, .jpeg, .jpe, .jfif, .png, .gif, .bmp, .webp)");
        StringAssert.Contains(e.Message, "skipped 1 file(s)");
        StringAssert.Contains(e.Message, "ignored 1 other file(s)");
    }

    [TestMethod]
    public void EmptyFolder_IsInvalidData()
    {
        Assert.ThrowsExactly<InvalidDataException>(() => ImageFileListing.List(_root));
    }

    private void Touch(params string[] relativePaths)
    {
        foreach (string relative in relativePaths)
        {
            string path = Full(relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, [1]);
        }
    }

    private string Full(string relative) => Path.Combine(Path.GetFullPath(_root), relative.Replace('/', Path.DirectorySeparatorChar));
}
