using PetsML.Trainers.Modeling;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

[TestClass]
public sealed class WeightFilesTests
{
    private string directory = "";

    [TestInitialize]
    public void CreateDirectory()
    {
        directory = Path.Combine(Path.GetTempPath(), "petsml-weights-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
    }

    [TestCleanup]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    /// <summary>A body whose buffers are not at their initial values either, so a round trip proves they load.</summary>
    private static ResNetBody TrainedLookingBody(ResNetArchitecture architecture, ulong seed)
    {
        using var generator = new Generator(seed);
        var body = ResNetBody.Create(architecture, generator);
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in body.state_dict())
        {
            if (name.EndsWith("running_mean")) tensor.copy_(torch.randn(tensor.shape, generator: generator));
            else if (name.EndsWith("running_var")) tensor.copy_(torch.rand(tensor.shape, generator: generator) + 0.5);
            else if (name.EndsWith("num_batches_tracked")) tensor.fill_(7);
            else if (name.EndsWith("bias")) tensor.copy_(torch.randn(tensor.shape, generator: generator));
        }
        return body;
    }

    [TestMethod]
    [DataRow(".dat")]
    [DataRow(".bin")]
    [DataRow(".pth")]
    [DataRow(".safetensors")]
    public void Round_trip_restores_every_tensor(string extension)
    {
        using var saved = TrainedLookingBody(ResNetArchitecture.ResNet18, 1);
        var path = Path.Combine(directory, "weights" + extension);
        Save(saved, path);

        using var generator = new Generator(2);
        using var loaded = ResNetBody.Create(ResNetArchitecture.ResNet18, generator);
        Assert.IsFalse(ModelingAssert.Same(loaded.state_dict()["conv1.weight"], saved.state_dict()["conv1.weight"]));
        WeightFiles.Load(loaded, path);
        ModelingAssert.StateDictsEqual(saved, loaded);
    }

    [TestMethod]
    [DataRow(".dat")]
    [DataRow(".pth")]
    [DataRow(".safetensors")]
    public void A_missing_tensor_is_named(string extension)
    {
        // torchvision's resnet18 layout lacks the packaged model's third layer4 block.
        using var saved = TrainedLookingBody(ResNetArchitecture.ResNet18, 3);
        var path = Path.Combine(directory, "weights" + extension);
        Save(saved, path);
        using var g4 = new Generator(4);
        using var target = ResNetBody.Create(ResNetArchitecture.ResNet18Packaged, g4);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => WeightFiles.Load(target, path));
        Assert.AreEqual($"weights{extension}: tensor 'layer4.2.conv1.weight' is missing.", e.Message);
    }

    [TestMethod]
    [DataRow(".dat")]
    [DataRow(".pth")]
    [DataRow(".safetensors")]
    public void A_misshapen_tensor_is_named_with_both_shapes(string extension)
    {
        using var g5 = new Generator(5);
        using var saved = ResNetBody.Create(ResNetArchitecture.ResNet50, g5);
        var path = Path.Combine(directory, "weights" + extension);
        Save(saved, path);
        using var g6 = new Generator(6);
        using var target = ResNetBody.Create(ResNetArchitecture.ResNet34, g6);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => WeightFiles.Load(target, path));
        Assert.AreEqual(
            $"weights{extension}: tensor 'layer1.0.conv1.weight' has shape [64,64,1,1], the model expects [64,64,3,3].", e.Message);
    }

    [TestMethod]
    public void A_resnet34_file_does_not_load_into_a_resnet18_body()
    {
        using var g7 = new Generator(7);
        using var saved = ResNetBody.Create(ResNetArchitecture.ResNet34, g7);
        var path = Path.Combine(directory, "resnet34.pth");
        saved.save_py(path);
        using var g8 = new Generator(8);
        using var target = ResNetBody.Create(ResNetArchitecture.ResNet18, g8);
        var before = target.state_dict()["conv1.weight"].clone();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => WeightFiles.Load(target, path));
        StringAssert.StartsWith(e.Message, "resnet34.pth: tensor 'layer1.2.");
        StringAssert.Contains(e.Message, "is not part of the model");
        Assert.IsTrue(ModelingAssert.Same(before, target.state_dict()["conv1.weight"]), "nothing is copied before the check passes");
    }

    [TestMethod]
    [DataRow(".pth")]
    [DataRow(".safetensors")]
    public void A_full_torchvision_model_file_loads_into_a_body_when_fc_is_skipped(string extension)
    {
        using var scope = torch.NewDisposeScope();
        using var saved = TrainedLookingBody(ResNetArchitecture.ResNet18, 9);
        // A torchvision resnet18 state dict: the body's tensors at top level plus fc.weight and fc.bias.
        var full = saved.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        full["fc.weight"] = torch.randn(1000, 512);
        full["fc.bias"] = torch.randn(1000);
        var path = Path.Combine(directory, "resnet18-full" + extension);
        if (extension == ".pth") PyTorchPickler.PickleStateDict(path, full);
        else Safetensors.SaveStateDict(path, full);

        using var g10 = new Generator(10);
        using var target = ResNetBody.Create(ResNetArchitecture.ResNet18, g10);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => WeightFiles.Load(target, path));
        StringAssert.Matches(e.Message, new System.Text.RegularExpressions.Regex("tensor 'fc\\.(weight|bias)' is not part of the model"));

        WeightFiles.Load(target, path, skip: ["fc.*"]);
        ModelingAssert.StateDictsEqual(saved, target);
    }

    [TestMethod]
    public void Old_files_without_batch_counters_load_and_unknown_extensions_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        using var saved = TrainedLookingBody(ResNetArchitecture.ResNet18, 11);
        var withoutCounters = saved.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked")).ToDictionary();
        var path = Path.Combine(directory, "old.pth");
        PyTorchPickler.PickleStateDict(path, withoutCounters);
        using var g12 = new Generator(12);
        using var target = ResNetBody.Create(ResNetArchitecture.ResNet18, g12);
        WeightFiles.Load(target, path);
        var sd = target.state_dict();
        foreach (var (name, tensor) in withoutCounters)
            Assert.IsTrue(ModelingAssert.Same(tensor, sd[name]), name);

        var onnx = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(onnx, [1, 2, 3]);
        var e = Assert.ThrowsExactly<ArgumentException>(() => WeightFiles.Load(target, onnx));
        StringAssert.Contains(e.Message, ".onnx");
        Assert.ThrowsExactly<FileNotFoundException>(() => WeightFiles.Load(target, Path.Combine(directory, "absent.pth")));
    }

    private static void Save(nn.Module module, string path)
    {
        switch (Path.GetExtension(path))
        {
            case ".pth": module.save_py(path); break;
            case ".safetensors": module.save_safetensors(path); break;
            default: module.save(path); break; // .dat, .bin: TorchSharp's own format
        }
    }
}
