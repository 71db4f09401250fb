using PetsML.Transforms.Labeling;

namespace PetsML.Tests.Transforms.Labeling;

[TestClass]
public sealed class RegexLabelerTests
{
    [TestMethod]
    [DataRow("great_pyrenees_173.jpg", "great_pyrenees")]
    [DataRow("staffordshire_bull_terrier_37.jpg", "staffordshire_bull_terrier")]
    [DataRow("Abyssinian_1.jpg", "Abyssinian")]
    [DataRow("/data/oxford-iiit-pet/images/British_Shorthair_201.jpg", "British_Shorthair")]
    [DataRow("/data/pug_5.jpg_folder/basset_hound_3.jpg", "basset_hound")] // only the file name is searched
    [DataRow("beagle_12_3.jpg", "beagle_12")]                               // greedy, as in fastai
    [DataRow("boxer_7xjpg", "boxer")]                                       // fastai's '.' is unescaped
    public void OxfordPattern_LabelsTheBreed(string path, string breed)
    {
        var labeler = new RegexLabeler();
        Assert.AreEqual(RegexLabeler.OxfordPetsPattern, labeler.Pattern);
        Assert.IsTrue(labeler.TryLabel(path, out string label));
        Assert.AreEqual(breed, label);
        Assert.AreEqual(breed, labeler.Label(path));
    }

    [TestMethod]
    [DataRow("beagle_1.png")]
    [DataRow("beagle_1.JPG")] // case-sensitive, as written
    [DataRow("beagle.jpg")]
    public void OxfordPattern_RejectsOtherNames(string path)
    {
        var labeler = new RegexLabeler();
        Assert.IsFalse(labeler.TryLabel(path, out _));
        var e = Assert.ThrowsExactly<ArgumentException>(() => labeler.Label(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, RegexLabeler.OxfordPetsPattern);
    }

    [TestMethod]
    public void Search_NotAnchored_AndNamedGroupWins()
    {
        Assert.AreEqual("12", new RegexLabeler(@"_(\d+)").Label("pug_12.jpg"));
        Assert.AreEqual("pug", new RegexLabeler(@"(\w)(?<label>[a-z]+)_").Label("xpug_1.jpg"));
    }

    [TestMethod]
    public void PatternWithoutGroup_OrInvalid_IsRejectedAtConstruction()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => new RegexLabeler(@"\d+\.jpg$"));
        StringAssert.Contains(e.Message, @"\d+\.jpg$");
        e = Assert.ThrowsExactly<ArgumentException>(() => new RegexLabeler("(unclosed"));
        StringAssert.Contains(e.Message, "(unclosed");
        Assert.AreEqual("pattern", e.ParamName);
    }

    [TestMethod]
    public void FolderLabeler_TakesTheParentFolderName()
    {
        var labeler = new FolderLabeler();
        Assert.AreEqual("cats", labeler.Label(Path.Combine("root", "cats", "x.jpg")));
        Assert.IsFalse(labeler.TryLabel("x.jpg", out _));
    }
}
