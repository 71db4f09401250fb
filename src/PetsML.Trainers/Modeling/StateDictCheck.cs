using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>Name, shape and (when the loader needs it) element type of one tensor in a weight source.</summary>
internal sealed record TensorEntry(string Name, long[] Shape, ScalarType? DType);

/// <summary>
/// Compares the tensors of a weight source with a module's state dict before anything is copied, so a wrong file
/// fails with the name of the first offending tensor instead of a bare "state dict is not identical" (TorchSharp)
/// or a shape error deep inside a strided copy (PyBridge).
/// </summary>
internal static class StateDictCheck
{
    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming the first module tensor (in state-dict order) that the
    /// source lacks or holds with another shape (or element type, when the entry carries one), then the first
    /// (in ordinal order) source tensor the module lacks. Names for which <paramref name="isSkipped"/> is true are ignored on both sides.
    /// </summary>
    internal static void EnsureMatches(
        string sourceName, IReadOnlyCollection<TensorEntry> source, Dictionary<string, Tensor> expected,
        Func<string, bool> isSkipped)
    {
        var byName = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        foreach (var entry in source)
        {
            if (!byName.TryAdd(entry.Name, entry))
                throw new InvalidDataException($"{sourceName}: tensor '{entry.Name}' appears more than once.");
        }

        foreach (var (name, tensor) in expected)
        {
            if (isSkipped(name)) continue;
            if (!byName.TryGetValue(name, out var entry))
                throw new InvalidDataException($"{sourceName}: tensor '{name}' is missing.");
            if (!entry.Shape.SequenceEqual(tensor.shape))
                throw new InvalidDataException(
                    $"{sourceName}: tensor '{name}' has shape {Format(entry.Shape)}, the model expects {Format(tensor.shape)}.");
            if (entry.DType is { } dtype && dtype != tensor.dtype)
                throw new InvalidDataException(
                    $"{sourceName}: tensor '{name}' has element type {dtype}, the model expects {tensor.dtype}.");
        }

        // Ordinal order, because some readers (PyBridge's unpickler) do not keep the file's order.
        var unexpected = source.Select(e => e.Name).Where(n => !isSkipped(n) && !expected.ContainsKey(n))
            .Order(StringComparer.Ordinal).FirstOrDefault();
        if (unexpected is not null)
            throw new InvalidDataException(
                $"{sourceName}: tensor '{unexpected}' is not part of the model (skip it to load the rest).");
    }

    internal static string Format(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";
}
