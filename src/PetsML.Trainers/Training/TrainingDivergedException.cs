using System.Globalization;

namespace PetsML;

/// <summary>
/// The training loss became NaN or infinite (the weights are those after the last finished batch: the diverging batch is
/// not back-propagated), or the validation loss did (the weights give non-finite outputs in eval mode). Either way the fit
/// ends without a model.
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

    TrainingDivergedException(string message, double loss, int epoch, int batch) : base(message)
    {
        Loss = loss;
        Epoch = epoch;
        Batch = batch;
        LearningRate = double.NaN;
    }

    /// <summary>The validation loss was not finite; <see cref="LearningRate"/> is NaN (no step was taken).</summary>
    internal static TrainingDivergedException InValidation(double loss, int epoch, int epochCount, int batch, int batchCount) =>
        new(string.Create(CultureInfo.InvariantCulture,
            $"The validation loss is {loss} at epoch {epoch + 1}/{epochCount}, batch {batch + 1}/{batchCount}: the model's outputs " +
            $"are not finite numbers in eval mode (diverged weights or BatchNorm statistics, or a damaged weight file), so no model " +
            $"is written. Try a lower learning rate, or check the weight file."), loss, epoch, batch);

    /// <summary>The non-finite loss.</summary>
    public double Loss { get; }

    /// <summary>0-based epoch within the fit.</summary>
    public int Epoch { get; }

    /// <summary>0-based batch within the epoch.</summary>
    public int Batch { get; }

    /// <summary>The last group's learning rate at that batch (NaN when the validation loss diverged).</summary>
    public double LearningRate { get; }
}
