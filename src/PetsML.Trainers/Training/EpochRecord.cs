namespace PetsML;

/// <summary>
/// One row of fastai's epoch table. <see cref="TrainLoss"/> is the smoothed loss at the end of the epoch, not the
/// epoch mean; validation values are null when the epoch had no validation.
/// </summary>
/// <param name="Epoch">0-based epoch within its fit.</param>
/// <param name="TrainLoss">Smoothed training loss (β 0.98, debiased, carried across the fit's epochs).</param>
/// <param name="ValidLoss">Mean loss over all validation items.</param>
/// <param name="ErrorRate">1 − accuracy on the validation set.</param>
/// <param name="Accuracy">Fraction of validation items whose argmax equals the target.</param>
/// <param name="Elapsed">Wall time of the epoch (training and validation).</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double? ValidLoss, double? ErrorRate, double? Accuracy, TimeSpan Elapsed)
{
    /// <summary>True on the epoch whose weights the fit ended with when a callback chose one (keep the best epoch).</summary>
    public bool Kept { get; init; }
}
