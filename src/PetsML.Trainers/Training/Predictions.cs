using static TorchSharp.torch;

namespace PetsML.Trainers.Training;

/// <summary>
/// The result of <see cref="Learner.GetPreds"/>: CPU tensors in the order the batch sequence yielded the items.
/// The caller owns them: dispose this object (or move the tensors out and dispose them yourself).
/// </summary>
internal sealed class Predictions : IDisposable
{
    internal Predictions(Tensor probabilities, Tensor targets, Tensor losses)
    {
        Probabilities = probabilities;
        Targets = targets;
        Losses = losses;
    }

    /// <summary>Softmax probabilities [N, C], float32.</summary>
    public Tensor Probabilities { get; }

    /// <summary>Class indices [N], int64.</summary>
    public Tensor Targets { get; }

    /// <summary>Per-item losses [N] (reduction none), float32.</summary>
    public Tensor Losses { get; }

    /// <summary>Number of items.</summary>
    public int Count => (int)Targets.shape[0];

    /// <summary>Fraction of items whose most probable class is the target.</summary>
    public double Accuracy()
    {
        if (Count == 0) return double.NaN;
        using var scope = NewDisposeScope();
        return Probabilities.argmax(-1).eq(Targets).to(ScalarType.Float64).mean().item<double>();
    }

    public void Dispose()
    {
        Probabilities.Dispose();
        Targets.Dispose();
        Losses.Dispose();
    }
}

/// <summary>The result of <see cref="Learner.Predict"/> for one image.</summary>
/// <param name="ClassIndex">Index of the most probable class.</param>
/// <param name="Probabilities">Softmax probability of every class.</param>
internal sealed record Prediction(int ClassIndex, float[] Probabilities);
