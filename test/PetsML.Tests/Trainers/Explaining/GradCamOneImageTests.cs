using Microsoft.ML;
using Microsoft.ML.Data;
using PetsML.Tests.Support;
using PetsML.Tests.Trainers.FineTuning;

namespace PetsML.Tests.Trainers.Explaining;

/// <summary>
/// Grad-CAM of one image (path or bytes) on a model loaded from its .zip: the same map as through the rows the classifier
/// reads; a classifier fed by Presize/AugmentImages steps says to explain their output instead.
/// </summary>
[TestClass]
public sealed class GradCamOneImageTests
{
    [TestMethod]
    public void A_path_its_bytes_and_its_row_give_the_same_map_on_a_loaded_model()
    {
        using var folder = new TempFolder("petsml-gradcam-one");
        var ml = new MLContext(seed: 0);
        var paths = TestImages.WriteShapeDataset(folder.Combine("images"), perClass: 2, width: 64, height: 56);
        var files = ml.Data.LoadImageFiles(folder.Combine("images"));
        var model = ml.Model.Load(TtaTransformTests.SaveModel(ml, files, "raw", folder.Combine("raw.zip")), out _);
        using var classifier = ((IEnumerable<ITransformer>)model).OfType<ImageClassifierTransformer>().Single();

        var fromPath = classifier.GradCam(paths[0]);
        var fromBytes = classifier.GradCam(File.ReadAllBytes(paths[0]));
        var rows = ml.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = paths[0] } });
        var fromRow = classifier.GradCam(rows).Single();
        Assert.AreEqual((32, 32), (fromPath.Width, fromPath.Height), "the map covers the 32-pixel view the network saw");
        Assert.IsTrue(fromPath.Heat.All(v => v >= 0 && v <= 1));
        CollectionAssert.AreEqual(fromPath.Heat, fromBytes.Heat);
        CollectionAssert.AreEqual(fromPath.Heat, fromRow.Heat);
        CollectionAssert.AreEqual(fromPath.Pixels, fromBytes.Pixels);
        var other = classifier.GradCam(paths[0], classIndex: (fromPath.ClassIndex + 1) % 3);
        Assert.AreEqual(TestImages.ShapeClasses[(fromPath.ClassIndex + 1) % 3], other.ClassName);
    }

    [TestMethod]
    public void A_classifier_fed_by_augment_steps_points_to_the_rows_they_make()
    {
        using var folder = new TempFolder("petsml-gradcam-normalized");
        var ml = new MLContext(seed: 0);
        var paths = TestImages.WriteShapeDataset(folder.Combine("images"), perClass: 1, width: 64, height: 56);
        var files = ml.Data.LoadImageFiles(folder.Combine("images"));
        var model = ml.Model.Load(TtaTransformTests.SaveModel(ml, files, "normalized", folder.Combine("normalized.zip")), out _);
        var steps = ((IEnumerable<ITransformer>)model).ToList();
        using var classifier = (ImageClassifierTransformer)steps[^1];
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => classifier.GradCam(File.ReadAllBytes(paths[0])));
        StringAssert.Contains(e.Message, "GradCam(IDataView)");
        var before = new TransformerChain<ITransformer>(steps.Take(steps.Count - 1).ToArray());
        var maps = classifier.GradCam(before.Transform(files)).ToList();
        Assert.HasCount(3, maps);
        Assert.IsTrue(maps.All(m => m.Width == 32 && m.Height == 32 && m.Heat.All(v => v >= 0 && v <= 1)));
    }
}
