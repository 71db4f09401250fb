using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Modeling;

/// <summary>Comparisons of whole state dicts, shared by the modeling tests.</summary>
internal static class ModelingAssert
{
    /// <summary>Asserts both modules hold the same names, shapes and exactly equal values.</summary>
    internal static void StateDictsEqual(nn.Module expected, nn.Module actual)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        CollectionAssert.AreEquivalent(a.Keys.ToList(), b.Keys.ToList());
        foreach (var (name, tensor) in a)
        {
            CollectionAssert.AreEqual(tensor.shape, b[name].shape, name);
            Assert.IsTrue(Same(tensor, b[name]), $"tensor '{name}' differs");
        }
    }

    /// <summary>True when both tensors have the same shape and exactly the same values.</summary>
    internal static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var equal = a.eq(b).all();
        return equal.item<bool>();
    }

    /// <summary>Largest absolute difference between two tensors.</summary>
    internal static float MaxAbsDiff(Tensor a, Tensor b)
    {
        using var diff = (a - b).abs().max();
        return diff.item<float>();
    }
}
