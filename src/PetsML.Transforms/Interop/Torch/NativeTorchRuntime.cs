using System.Runtime.InteropServices;
using TorchSharp;

namespace PetsML.Transforms.Interop.Torch;

/// <summary>
/// The one place where PetsML loads TorchSharp's native runtime (libtorch), before its first torch call, so an
/// application that lacks it gets one exception naming the package to add instead of TorchSharp's own message.
/// </summary>
/// <remarks>
/// PetsML's libraries reference the managed TorchSharp only; the application chooses libtorch by adding one
/// PetsML.Runtime.* package (inside this repository, applications import build/TorchRuntime.targets instead).
/// </remarks>
internal static class NativeTorchRuntime
{
    /// <summary>The runtime package for the machine this runs on, e.g. <c>PetsML.Runtime.Cpu.linux-x64</c>.</summary>
    public static string CpuPackage => $"PetsML.Runtime.Cpu.{PortableRid}";

    /// <summary>
    /// Loads libtorch for the CPU (once per process: TorchSharp keeps it loaded; later calls return at once).
    /// </summary>
    /// <exception cref="InvalidOperationException">libtorch is missing (names the package to add) or does not load.</exception>
    public static void EnsureLoaded()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is NotSupportedException or TypeInitializationException or DllNotFoundException or BadImageFormatException)
        {
            throw new InvalidOperationException(Explain(LibTorchIsPresent(AppContext.BaseDirectory), e), e);
        }
    }

    /// <summary>The message for a failed load; <paramref name="libTorchPresent"/> tells a missing package from a refused library.</summary>
    internal static string Explain(bool libTorchPresent, Exception failure)
    {
        if (!libTorchPresent)
            return "PetsML needs TorchSharp's native runtime (libtorch) and this application has none. Add the runtime " +
                   $"package for this machine and build again: dotnet add package {CpuPackage} " +
                   $"(or PetsML.Runtime.Cuda.{PortableRid} for an NVIDIA GPU).";
        return "libtorch is in the application's folder but TorchSharp could not load it: " + Innermost(failure).Message +
               " On Debian 12 and Ubuntu 22.04 run the application from a dotnet build or dotnet publish output: the build " +
               $"of an application that references {CpuPackage} fixes TorchSharp's native wrapper there.";
    }

    private static bool LibTorchIsPresent(string baseDirectory)
    {
        var name = OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        return File.Exists(Path.Combine(baseDirectory, name))
            || File.Exists(Path.Combine(baseDirectory, "runtimes", PortableRid, "native", name));
    }

    private static string PortableRid
    {
        get
        {
            var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            return $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
