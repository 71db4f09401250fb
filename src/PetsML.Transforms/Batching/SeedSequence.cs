namespace PetsML.Transforms.Batching;

/// <summary>
/// Derives independent, reproducible seeds from one user seed (SplitMix64 mixing), so that the shuffle
/// of epoch 3 or the augmentation of batch 7 does not depend on how many draws came before.
/// </summary>
internal static class SeedSequence
{
    /// <summary>A seed for one purpose (stream), epoch and index, fully determined by the arguments.</summary>
    public static long Derive(long seed, int stream, int epoch, int index = 0)
    {
        ulong x = (ulong)seed;
        x = Mix(x ^ (0x9E3779B97F4A7C15UL * (ulong)(stream + 1)));
        x = Mix(x ^ (0xBF58476D1CE4E5B9UL * (ulong)(epoch + 1)));
        x = Mix(x ^ (0x94D049BB133111EBUL * (ulong)(index + 1)));
        return (long)(x >> 1); // non-negative: torch.Generator and System.Random take it as is
    }

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
