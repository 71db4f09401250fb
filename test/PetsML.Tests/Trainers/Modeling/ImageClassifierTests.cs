using PetsML.Trainers.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

[TestClass]
public sealed class ImageClassifierTests
{
    [TestMethod]
    public void Parameter_groups_cover_every_parameter_once_and_norm_names_are_the_batchnorm_parameters()
    {
        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18, nClasses: 37, seed: 1, pretrained: false);
        var groups = model.GetParameterGroups();

        CollectionAssert.AreEqual(new[] { "body.early", "body.late", "head" }, groups.Select(g => g.Name).ToList());
        var grouped = groups.SelectMany(g => g.Parameters.Select(p => p.Name)).ToList();
        var all = model.named_parameters().Select(p => p.name).ToList();
        Assert.HasCount(all.Count, grouped);
        CollectionAssert.AreEquivalent(all, grouped, "every parameter exactly once");

        var early = groups[0].Parameters.Select(p => p.Name).ToHashSet();
        var late = groups[1].Parameters.Select(p => p.Name).ToHashSet();
        var head = groups[2].Parameters.Select(p => p.Name).ToHashSet();
        Assert.IsTrue(early.All(n => new[] { "body.conv1.", "body.bn1.", "body.layer1.", "body.layer2." }.Any(n.StartsWith)));
        Assert.IsTrue(late.All(n => n.StartsWith("body.layer3.") || n.StartsWith("body.layer4.")));
        Assert.IsTrue(head.All(n => n.StartsWith("head.")));
        Assert.Contains("body.conv1.weight", early);
        Assert.Contains("body.layer2.0.downsample.1.bias", early);
        Assert.Contains("body.layer3.0.conv1.weight", late);
        Assert.Contains("head.8.weight", head);

        // The BatchNorm parameters, found from the modules themselves (not from names).
        var expectedNorm = new HashSet<string>();
        foreach (var (moduleName, module) in model.named_modules())
            if (module is BatchNorm1d or BatchNorm2d)
                foreach (var (p, _) in module.named_parameters()) expectedNorm.Add($"{moduleName}.{p}");
        var norm = groups.SelectMany(g => g.NormParameterNames).ToList();
        CollectionAssert.AreEquivalent(expectedNorm.ToList(), norm);
        foreach (var group in groups)
            Assert.IsTrue(group.NormParameterNames.All(n => group.Parameters.Any(p => p.Name == n)), group.Name);
        Assert.IsTrue(groups[2].IsNorm("head.2.bias"));
        Assert.IsFalse(groups[2].IsNorm("head.4.weight"));
        // In this model the norm parameters are exactly the 1-d parameters (convs and linears have no bias).
        CollectionAssert.AreEquivalent(model.named_parameters().Where(p => p.parameter.dim() == 1).Select(p => p.name).ToList(), norm);
    }

    [TestMethod]
    public void Same_seed_gives_the_same_model_and_another_seed_a_different_one()
    {
        using var a = ImageClassifier.Create(ResNetArchitecture.ResNet18, 10, seed: 42, pretrained: false);
        using var b = ImageClassifier.Create(ResNetArchitecture.ResNet18, 10, seed: 42, pretrained: false);
        using var c = ImageClassifier.Create(ResNetArchitecture.ResNet18, 10, seed: 43, pretrained: false);
        ModelingAssert.StateDictsEqual(a, b);

        var sa = a.state_dict();
        var sc = c.state_dict();
        foreach (var name in new[] { "body.conv1.weight", "body.layer4.1.conv2.weight", "head.4.weight", "head.8.weight" })
            Assert.IsFalse(ModelingAssert.Same(sa[name], sc[name]), $"'{name}' should differ between seeds");
    }

    [TestMethod]
    public void Renormalization_maps_one_set_of_statistics_onto_another()
    {
        float[] meanA = [0.485f, 0.456f, 0.406f], stdA = [0.229f, 0.224f, 0.225f];
        float[] meanB = [0.5f, 0.4f, 0.3f], stdB = [0.2f, 0.25f, 0.3f];
        var (scale, shift) = ImageClassifier.RenormalizationFor(meanA, stdA, meanB, stdB);
        for (var c = 0; c < 3; c++)
        {
            Assert.AreEqual(stdA[c] / stdB[c], scale[c], 1e-6f);
            Assert.AreEqual((meanA[c] - meanB[c]) / stdB[c], shift[c], 1e-6f);
        }

        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(9);
        var pixels = torch.rand([2, 3, 32, 32], generator: generator);
        var dataA = (pixels - torch.tensor(meanA, [1, 3, 1, 1])) / torch.tensor(stdA, [1, 3, 1, 1]);
        var dataB = (pixels - torch.tensor(meanB, [1, 3, 1, 1])) / torch.tensor(stdB, [1, 3, 1, 1]);

        using var model = ImageClassifier.Create(ResNetArchitecture.ResNet18, 5, seed: 3, pretrained: false);
        model.eval();
        var plain = model.call(dataB);
        model.SetInputRenormalization(scale, shift);
        var renormalised = model.call(dataA);
        var scaleOfLogits = plain.abs().max().item<float>();
        Assert.IsTrue(scaleOfLogits > 0);
        Assert.IsLessThan(1e-4f * Math.Max(1f, scaleOfLogits), ModelingAssert.MaxAbsDiff(plain, renormalised));

        // And it really is applied: the un-mapped data gives other logits.
        model.SetInputRenormalization([1f, 1f, 1f], [0f, 0f, 0f]);
        Assert.IsGreaterThan(1e-3f, ModelingAssert.MaxAbsDiff(plain, model.call(dataA)));
        Assert.IsTrue(model.state_dict().ContainsKey("input_scale") && model.state_dict().ContainsKey("input_shift"));
    }

    [TestMethod]
    public void Model_statistics_follow_the_body_and_bad_requests_are_refused()
    {
        using var tv = ImageClassifier.Create(ResNetArchitecture.ResNet18, 2, seed: 1, pretrained: false);
        CollectionAssert.AreEqual(new[] { 0.485f, 0.456f, 0.406f }, tv.ModelStatistics.Mean);
        CollectionAssert.AreEqual(new[] { 0.229f, 0.224f, 0.225f }, tv.ModelStatistics.Std);
        using var packaged = ImageClassifier.Create(ResNetArchitecture.ResNet18Packaged, 2, seed: 1, pretrained: false);
        CollectionAssert.AreEqual(new[] { 0.482948f, 0.454521f, 0.404167f }, packaged.ModelStatistics.Mean);
        CollectionAssert.AreEqual(new[] { 1 / 255f, 1 / 255f, 1 / 255f }, packaged.ModelStatistics.Std);

        var e = Assert.ThrowsExactly<ArgumentException>(() => ImageClassifier.Create(ResNetArchitecture.ResNet34, 2, 1, pretrained: true));
        Assert.AreEqual("pretrained", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentException>(() => ImageClassifier.Create(ResNetArchitecture.ResNet18, 2, 1, pretrained: false, bodyWeightsPath: "w.pth"));
        Assert.AreEqual("bodyWeightsPath", e.ParamName);
        e = Assert.ThrowsExactly<ArgumentException>(() => ImageClassifier.RenormalizationFor([0.5f, 0.5f, 0.5f], [0.2f, 0f, 0.2f], [0f, 0f, 0f], [1f, 1f, 1f]));
        Assert.AreEqual("dataStd", e.ParamName);
    }
}
