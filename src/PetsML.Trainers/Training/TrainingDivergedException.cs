using System.Globalization;

namespace PetsML;

/// <summary>
/// The training loss became NaN or infinite. The weights are those after the last finished batch
/// (the diverging batch is not back-propagated).
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(double loss, int epoch, int epochCount, int batch, int batchCount, double learningRate)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The training loss diverged ({loss}) at epoch {epoch + 1}/{epochCount}, batch {batch + 1}/{batchCount}, " +
            $"with a learning rate of {learningRate:g3} (last group). Try a lower learning rate, e.g. a tenth of it " +
            $"({learningRate / 10:g3}), or the valley suggestion of LrFind()."))
    {
        Loss = loss;
        Epoch = epoch;
        Batch = batch;
        LearningRate = learningRate;
    }

    /// <summary>The non-finite loss.</summary>
    public double Loss { get; }

    /// <summary>0-based epoch within the fit.</summary>
    public int Epoch { get; }

    /// <summary>0-based batch within the epoch.</summary>
    public int Batch { get; }

    /// <summary>The last group's learning rate at that batch.</summary>
    public double LearningRate { get; }
}
