namespace PetsML;

/// <summary>What a progress display needs after each batch.</summary>
/// <param name="Phase">Training or validation.</param>
/// <param name="Epoch">0-based epoch within the fit.</param>
/// <param name="EpochCount">Epochs in the fit.</param>
/// <param name="Batch">Batches finished in this phase of the epoch (1-based count).</param>
/// <param name="BatchCount">Batches in this phase.</param>
/// <param name="ImagesPerSecond">Items per second over this phase so far.</param>
/// <param name="Loss">Training: the smoothed loss; validation: the running mean loss.</param>
public sealed record BatchProgress(TrainingPhase Phase, int Epoch, int EpochCount, int Batch, int BatchCount, double ImagesPerSecond, double Loss);
