namespace PetsML;

/// <summary>How batch preparation (decode, presize, augment) is scheduled against the training step.</summary>
public enum BatchPreparation
{
    /// <summary>
    /// Prepare a batch with all decode threads, then hand it over and wait: preparation and training
    /// alternate and each gets every core. The default: on a small machine a busy decoder thread beside
    /// libtorch's OpenMP threads slows training far more than it saves (bench/README.md, "Training speed").
    /// </summary>
    Alternate,
    /// <summary>Prepare the next batch on a background thread while the current one trains (machines with spare cores).</summary>
    Overlap,
}
