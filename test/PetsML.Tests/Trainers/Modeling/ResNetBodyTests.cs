using PetsML.Trainers.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

[TestClass]
public sealed class ResNetBodyTests
{
    // torchvision's parameter counts without fc (resnet18/34/50 totals minus fc), and the CNTK ResNet-18's.
    [TestMethod]
    [DataRow(ResNetArchitecture.ResNet18Packaged, 15_897_152L, 512L)]
    [DataRow(ResNetArchitecture.ResNet18, 11_689_512L - (512L * 1000 + 1000), 512L)]
    [DataRow(ResNetArchitecture.ResNet34, 21_797_672L - (512L * 1000 + 1000), 512L)]
    [DataRow(ResNetArchitecture.ResNet50, 25_557_032L - (2048L * 1000 + 1000), 2048L)]
    public void Bodies_have_torchvisions_parameter_counts_and_output_channels(
        ResNetArchitecture architecture, long parameters, long channels)
    {
        using var generator = new Generator(1);
        using var body = ResNetBody.Create(architecture, generator);
        Assert.AreEqual(parameters, body.parameters().Sum(p => p.numel()));
        Assert.AreEqual(channels, body.OutputChannels);

        body.eval();
        using var scope = torch.NewDisposeScope();
        var output = body.call(torch.rand([1, 3, 64, 64], generator: generator));
        CollectionAssert.AreEqual(new[] { 1L, channels, 2L, 2L }, output.shape);
    }

    [TestMethod]
    public void State_dict_names_are_torchvisions()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(1);
        using var packaged = ResNetBody.Create(ResNetArchitecture.ResNet18Packaged, generator);
        var names = packaged.state_dict().Keys.ToHashSet();
        foreach (var name in new[]
                 {
                     "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                     "layer1.0.conv1.weight", "layer1.1.bn2.running_var", "layer2.0.downsample.0.weight",
                     "layer2.0.downsample.1.running_mean", "layer4.2.conv2.weight", "layer4.2.bn2.bias",
                 })
        {
            Assert.Contains(name, names);
        }
        Assert.IsFalse(names.Any(n => n.StartsWith("fc.") || n.StartsWith("avgpool")), "the body has no classifier");
        Assert.IsFalse(names.Any(n => n.StartsWith("layer1.0.downsample")), "layer1 keeps the stem's 64 channels");
        CollectionAssert.AreEqual(new long[] { 128, 64, 1, 1 }, packaged.state_dict()["layer2.0.downsample.0.weight"].shape);

        using var resnet50 = ResNetBody.Create(ResNetArchitecture.ResNet50, generator);
        var sd50 = resnet50.state_dict();
        CollectionAssert.AreEqual(new long[] { 256, 64, 1, 1 }, sd50["layer1.0.conv3.weight"].shape);
        CollectionAssert.AreEqual(new long[] { 256, 64, 1, 1 }, sd50["layer1.0.downsample.0.weight"].shape);
        CollectionAssert.AreEqual(new long[] { 128, 128, 3, 3 }, sd50["layer2.0.conv2.weight"].shape);
    }

    [TestMethod]
    public void Random_init_is_torchvisions_kaiming_fan_out_with_unit_batchnorm()
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        using var body = ResNetBody.Create(ResNetArchitecture.ResNet18, generator);
        var sd = body.state_dict();
        // kaiming_normal_(mode=fan_out, relu): std = sqrt(2 / (out_channels * kh * kw)).
        foreach (var (name, fanOut) in new[] { ("conv1.weight", 64.0 * 49), ("layer3.0.conv2.weight", 256.0 * 9), ("layer4.0.downsample.0.weight", 512.0) })
        {
            var std = sd[name].std().item<float>();
            var expected = Math.Sqrt(2 / fanOut);
            Assert.AreEqual(expected, std, expected * 0.05, name);
            Assert.AreEqual(0.0, sd[name].mean().item<float>(), expected * 0.05, name);
        }
        Assert.IsTrue(sd["layer2.1.bn1.weight"].eq(1).all().item<bool>());
        Assert.IsTrue(sd["layer2.1.bn1.bias"].eq(0).all().item<bool>());
    }
}
