using System.Runtime.InteropServices;
using PetsML.Transforms.Interop.Torch;

namespace PetsML.Tests.Transforms.Interop;

/// <summary>
/// The message an app gets at first use when libtorch is missing or refused. The missing case end to end (an app
/// built from the packages, run without libtorch) is in test/scripts/packages.sh.
/// </summary>
[TestClass]
public sealed class NativeTorchRuntimeTests
{
    [TestMethod]
    public void Loads_libtorch_in_an_application_that_has_it()
    {
        NativeTorchRuntime.EnsureLoaded();
        NativeTorchRuntime.EnsureLoaded(); // again: returns at once
    }

    [TestMethod]
    public void A_missing_runtime_names_the_package_for_this_machine()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var rid = $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";

        var message = NativeTorchRuntime.Explain(libTorchPresent: false, new NotSupportedException("no libtorch"));

        StringAssert.Contains(message, $"dotnet add package PetsML.Runtime.Cpu.{rid}");
        StringAssert.Contains(message, $"PetsML.Runtime.Cuda.{rid}");
    }

    [TestMethod]
    public void A_refused_runtime_gives_the_loader_reason_and_the_fix()
    {
        var refusal = new DllNotFoundException("version `GLIBCXX_3.4.32' not found");

        var message = NativeTorchRuntime.Explain(libTorchPresent: true, new TypeInitializationException("TorchSharp.torch", refusal));

        StringAssert.Contains(message, "GLIBCXX_3.4.32");
        StringAssert.Contains(message, "dotnet publish");
        Assert.DoesNotContain("dotnet add package", message);
    }
}
