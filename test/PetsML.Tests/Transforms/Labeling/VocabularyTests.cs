using PetsML.Transforms.Labeling;

namespace PetsML.Tests.Transforms.Labeling;

[TestClass]
public sealed class VocabularyTests
{
    /// <summary>The 37 breeds in fastai's vocab order (docs/fastai-semantics.md, "Dataset, labels and vocabulary"): 12 capitalised cats, then 25 dogs.</summary>
    private static readonly string[] OxfordBreeds =
    [
        "Abyssinian", "Bengal", "Birman", "Bombay", "British_Shorthair", "Egyptian_Mau", "Maine_Coon", "Persian",
        "Ragdoll", "Russian_Blue", "Siamese", "Sphynx", "american_bulldog", "american_pit_bull_terrier",
        "basset_hound", "beagle", "boxer", "chihuahua", "english_cocker_spaniel", "english_setter",
        "german_shorthaired", "great_pyrenees", "havanese", "japanese_chin", "keeshond", "leonberger",
        "miniature_pinscher", "newfoundland", "pomeranian", "pug", "saint_bernard", "samoyed", "scottish_terrier",
        "shiba_inu", "staffordshire_bull_terrier", "wheaten_terrier", "yorkshire_terrier",
    ];

    [TestMethod]
    public void OxfordBreeds_SortOrdinally_CatsFirst()
    {
        // Shuffled with duplicates, as labels arrive from the file list.
        var random = new Random(42);
        string[] labels = OxfordBreeds.Concat(OxfordBreeds).Concat(OxfordBreeds.Take(5)).OrderBy(_ => random.Next()).ToArray();

        Vocabulary vocab = Vocabulary.Build(labels);

        CollectionAssert.AreEqual(OxfordBreeds, vocab.Labels.ToArray());
        Assert.AreEqual(37, vocab.Count);
        Assert.AreEqual(0, vocab.GetIndex("Abyssinian"));
        Assert.AreEqual(12, vocab.GetIndex("american_bulldog"));
        Assert.AreEqual(13, vocab.GetIndex("american_pit_bull_terrier"));
        Assert.AreEqual(36, vocab.GetIndex("yorkshire_terrier"));
        Assert.AreEqual("Sphynx", vocab[11]);

        // The trap this guards against: a culture-aware sort interleaves cats and dogs.
        string[] cultureSorted = OxfordBreeds.OrderBy(s => s, StringComparer.InvariantCulture).ToArray();
        CollectionAssert.AreNotEqual(OxfordBreeds, cultureSorted);
    }

    [TestMethod]
    public void UnknownLabel_AndNullLabel_AreErrors()
    {
        Vocabulary vocab = Vocabulary.Build(["b", "a"]);
        Assert.IsFalse(vocab.TryGetIndex("A", out _));
        StringAssert.Contains(Assert.ThrowsExactly<KeyNotFoundException>(() => vocab.GetIndex("c")).Message, "'c'");
        Assert.ThrowsExactly<ArgumentException>(() => Vocabulary.Build(["a", null!]));
        Assert.ThrowsExactly<ArgumentException>(() => Vocabulary.Build([]));
    }
}
