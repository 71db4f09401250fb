using PetsML.Host.Commands.Review;

namespace PetsML.Tests.Host.Review;

/// <summary>Where a relabeled photo goes: the class's folder, or a name the label regex reads as the class; never over another file.</summary>
[TestClass]
public sealed class PhotoLabelsTests
{
    [TestMethod]
    public void Folder_labels_move_into_the_sibling_class_folder()
    {
        var labels = PhotoLabels.FromFolders();
        Assert.AreEqual("cat", labels.LabelOf("train/cat/x.jpg"));
        Assert.IsNull(labels.LabelOf("x.jpg"));
        Assert.AreEqual("train/dog/x.jpg", labels.Relabeled("train/cat/x.jpg", "dog", _ => true));
        Assert.AreEqual("dog/x.jpg", labels.Relabeled("cat/x.jpg", "dog", _ => true));
        Assert.AreEqual("dog/x1.jpg", labels.Relabeled("cat/x.jpg", "dog", p => p != "dog/x.jpg"));
    }

    [TestMethod]
    public void Regex_labels_rename_so_that_the_regex_reads_the_new_class()
    {
        var labels = PhotoLabels.FromFileNames(@"(.+)_\d+.jpg$");
        Assert.AreEqual("great_pyrenees", labels.LabelOf("a/great_pyrenees_12.jpg"));
        Assert.AreEqual("a/Bengal_12.jpg", labels.Relabeled("a/great_pyrenees_12.jpg", "Bengal", _ => true));
        var taken = new HashSet<string> { "Bengal_12.jpg", "Bengal_121.jpg" };
        var renamed = labels.Relabeled("Abyssinian_12.jpg", "Bengal", p => !taken.Contains(p));
        Assert.AreEqual("Bengal_122.jpg", renamed);
        Assert.AreEqual("Bengal", labels.LabelOf(renamed));

        var named = PhotoLabels.FromFileNames(@"^img-\d+-(?<label>[a-z]+)\.png$");
        Assert.AreEqual("img-7-dog.png", named.Relabeled("img-7-cat.png", "dog", _ => true));
    }

    [TestMethod]
    public void Class_names_that_are_not_one_plain_path_segment_are_refused()
    {
        foreach (var label in new[] { "../x", "a/b", ".hidden", "", "a\\b", "tab\there" })
        {
            var e = Assert.ThrowsExactly<ReviewException>(() => PhotoLabels.FromFolders().Relabeled("cat/x.jpg", label, _ => true));
            Assert.AreEqual(400, e.StatusCode, label);
        }
        var none = Assert.ThrowsExactly<ReviewException>(() => PhotoLabels.FromFileNames(@"(.+)_\d+.jpg$").Relabeled("a_1.jpg", "b", _ => false));
        Assert.AreEqual(409, none.StatusCode);
    }
}
