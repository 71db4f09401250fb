using System.Runtime.InteropServices;
using TorchSharp;

namespace PetsML.Trainers.Devices;

/// <summary>
/// Turns off libtorch's NNPACK convolution path (PyTorch's <c>torch.backends.nnpack.set_flags(False)</c>, which
/// TorchSharp does not expose). On CPUs NNPACK does not support, libtorch's first convolution probe prints
/// "Could not initialize NNPACK! Reason: Unsupported hardware." to stderr; with NNPACK disabled by the user flag,
/// libtorch never probes, and convolutions take the same oneDNN/native paths they take after a failed probe.
/// </summary>
internal static class Nnpack
{
    static int _done;

    /// <summary>Once per process; harmless where the symbols are missing (other platforms or libtorch builds).</summary>
    public static void Disable()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1) return;
        if (!OperatingSystem.IsLinux()) return; // the entry points below are Itanium-mangled C++ names
        try
        {
            _ = torch.get_num_threads(); // makes TorchSharp load libtorch_cpu
            SetUserEnabledNNPACK(GlobalContext(), false);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // NNPACK stays as libtorch configured it: at worst the warning is printed.
        }
    }

    // at::globalContext() and at::Context::setUserEnabledNNPACK(bool), exported by libtorch_cpu.
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    static extern void SetUserEnabledNNPACK(IntPtr context, [MarshalAs(UnmanagedType.I1)] bool enabled);
}
