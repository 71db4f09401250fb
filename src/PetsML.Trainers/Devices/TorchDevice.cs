using PetsML.Transforms.Interop.Torch;
using TorchSharp;

namespace PetsML.Trainers.Devices;

/// <summary>
/// Chooses the TorchSharp device at run time, so one build serves CPU and GPU machines:
/// the native runtime is picked at build time (a PetsML.Runtime.* package, or build/TorchRuntime.targets inside
/// this repository), the device here.
/// </summary>
internal static class TorchDevice
{
    /// <summary>
    /// Resolves a device name: <c>"auto"</c> (the default) gives cuda when a CUDA runtime and a GPU
    /// are available, else cpu; <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:N"</c> force a device.
    /// </summary>
    /// <remarks>The one place a device option (<see cref="ComputeOptions.Device"/>)
    /// is parsed; the options' Validate calls it, so a bad name fails before any data is read.</remarks>
    /// <exception cref="ArgumentException">The name is not one of those, or cuda was asked for and is not available; ParamName "Device".</exception>
    public static torch.Device Resolve(string? name = ComputeOptions.Defaults.Device)
    {
        var requested = string.IsNullOrWhiteSpace(name) ? ComputeOptions.Defaults.Device : name.Trim().ToLowerInvariant();
        bool cudaIndexOk = !requested.StartsWith("cuda:", StringComparison.Ordinal)
                           || int.TryParse(requested.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);
        if (requested is not ("auto" or "cpu" or "cuda") && !(requested.StartsWith("cuda:", StringComparison.Ordinal) && cudaIndexOk))
            throw new ArgumentException($"Device '{name}' is not one of auto, cpu, cuda, cuda:N (N a device number).", OptionName);
        NativeTorchRuntime.EnsureLoaded();
        if (requested == "auto")
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (requested == "cpu")
            return torch.CPU;
        if (requested == "cuda" || requested.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException(
                    $"Device '{name}' was requested but CUDA is not available: on a machine with an NVIDIA GPU, reference a PetsML.Runtime.Cuda.* package instead of PetsML.Runtime.Cpu.* (in this repository, build with -p:PetsMLTorchRuntime=cuda), or use 'cpu'.",
                    OptionName);
            return new torch.Device(requested);
        }
        throw new ArgumentException($"Device '{name}' is not one of auto, cpu, cuda, cuda:N.", OptionName);
    }

    /// <summary>The option every device name comes from, named in the exceptions.</summary>
    const string OptionName = "Device";
}
