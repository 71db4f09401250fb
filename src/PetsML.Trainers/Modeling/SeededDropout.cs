using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// Dropout whose masks come from its own seeded generator. TorchSharp's <c>nn.Dropout</c> draws from the
/// global generator, which a library must not touch; with this module the same seed gives the same
/// training run. Identity in eval mode; in training, zeroes each element with probability p and scales
/// the rest by 1/(1−p), exactly like <c>nn.Dropout</c>. It has no parameters, so state-dict names are unchanged.
/// </summary>
internal sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;
    private Generator _generator;
    private bool _ownsGenerator = true;

    /// <param name="p">Probability of zeroing an element, in [0, 1).</param>
    /// <param name="seed">Seed of the masks.</param>
    public SeededDropout(double p, long seed) : base(nameof(SeededDropout))
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        _p = p;
        Seed = seed;
        _generator = new Generator((ulong)seed); // a CPU generator: masks are drawn on the CPU and moved, cheap for a head
    }

    /// <summary>The seed the masks were drawn from (a replica with it draws the same masks from the start).</summary>
    public long Seed { get; }

    /// <summary>The dropout probability.</summary>
    public double P => _p;

    /// <summary>
    /// A copy of the mask generator's state (a CPU uint8 tensor the caller owns). A training checkpoint keeps it so
    /// that a resumed run draws the same masks as an uninterrupted one.
    /// </summary>
    public Tensor GetGeneratorState() => _generator.get_state();

    /// <summary>Puts back a state taken by <see cref="GetGeneratorState"/>; the next masks continue from there.</summary>
    public void SetGeneratorState(Tensor state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _generator.set_state(state);
    }

    /// <summary>
    /// Draws from <paramref name="source"/>'s generator from now on. A working copy of a model (the bf16 replica)
    /// shares its original's mask generators, so the masks it draws advance the state a checkpoint saves.
    /// </summary>
    internal void ShareGeneratorOf(SeededDropout source)
    {
        if (ReferenceEquals(source._generator, _generator)) return;
        if (_ownsGenerator) _generator.Dispose();
        _generator = source._generator;
        _ownsGenerator = false;
    }

    public override Tensor forward(Tensor x)
    {
        if (!training || _p == 0) return x.alias();
        using var scope = NewDisposeScope();
        var keep = rand(x.shape, generator: _generator).ge(_p).to(x.dtype).to(x.device);
        return (x * keep).div_(1 - _p).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsGenerator) _generator.Dispose();
        base.Dispose(disposing);
    }
}
