using PetsML.Trainers.Devices;
using TorchSharp;

namespace PetsML.Tests.Native;

/// <summary>
/// Proves the build's native-library fix (build/Native): on Debian 12 libLibTorchSharp.so loads only
/// after its GLIBCXX_3.4.32 requirement is made weak. If the fix is missing, the first torch call throws.
/// </summary>
[TestClass]
public sealed class TorchNativeLoadsTests
{
    [TestMethod]
    public void A_real_torch_operation_runs()
    {
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var b = torch.ones(3, 2);
        using var c = a.matmul(b);
        CollectionAssert.AreEqual(new[] { 3f, 3f, 12f, 12f }, c.data<float>().ToArray());
    }

    [TestMethod]
    public void Auto_device_is_cpu_without_a_gpu_and_unknown_names_are_refused()
    {
        var device = TorchDevice.Resolve("auto");
        Assert.AreEqual(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, device.type);
        Assert.AreEqual(DeviceType.CPU, TorchDevice.Resolve("cpu").type);
        var e = Assert.ThrowsExactly<ArgumentException>(() => TorchDevice.Resolve("tpu"));
        StringAssert.Contains(e.Message, "tpu");
    }
}
