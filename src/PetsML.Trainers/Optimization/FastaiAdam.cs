using PetsML.Trainers.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.Optimization;

/// <summary>
/// fastai's own Adam (<c>optimizer.py</c>), not PyTorch's: per-group hyper-parameters
/// <c>lr</c>, <c>mom</c> (β1, scheduled by one-cycle), <c>sqr_mom</c> (β2), <c>eps</c>, <c>wd</c>;
/// decoupled weight decay p ← p·(1 − lr·wd) skipped for normalisation parameters (wd_bn_bias=False);
/// dampened moments; bias corrections with the <em>current</em> mom. Parameters without a gradient
/// (frozen, or unused by the forward pass) are skipped entirely.
/// </summary>
/// <remarks>
/// Defaults (fastai's): lr 1e-3, mom 0.9, sqr_mom 0.99, eps 1e-5, wd 0.01.
/// State (both moments and the step count) is created lazily per parameter and wiped by <see cref="ClearState"/>,
/// which freezing and unfreezing call.
/// </remarks>
internal sealed class FastaiAdam : IDisposable
{
    /// <summary>fastai's default hyper-parameters, written once.</summary>
    public static class Defaults
    {
        public const double LearningRate = 1e-3;
        public const double Mom = 0.9;
        public const double SqrMom = 0.99;
        public const double Eps = 1e-5;
        public const double WeightDecay = 0.01;
    }

    /// <summary>The hyper-parameter names <see cref="SetHyper(string, double[])"/> accepts (fastai's spelling).</summary>
    public static IReadOnlyList<string> HyperNames { get; } = ["lr", "mom", "sqr_mom", "eps", "wd"];

    private readonly Dictionary<string, double[]> _hypers;
    private readonly ParamState?[][] _state;
    private bool _disposed;

    /// <summary>Creates the optimizer over <paramref name="groups"/>, every group starting with the same hyper-parameters.</summary>
    public FastaiAdam(
        IReadOnlyList<ParameterGroup> groups,
        double lr = Defaults.LearningRate,
        double mom = Defaults.Mom,
        double sqrMom = Defaults.SqrMom,
        double eps = Defaults.Eps,
        double wd = Defaults.WeightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Count == 0) throw new ArgumentException("At least one parameter group is needed.", nameof(groups));
        Groups = groups;
        int n = groups.Count;
        _hypers = new Dictionary<string, double[]>(StringComparer.Ordinal)
        {
            ["lr"] = Filled(n, lr), ["mom"] = Filled(n, mom), ["sqr_mom"] = Filled(n, sqrMom),
            ["eps"] = Filled(n, eps), ["wd"] = Filled(n, wd),
        };
        _state = groups.Select(g => new ParamState?[g.Parameters.Count]).ToArray();
    }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>A copy of one hyper-parameter's per-group values.</summary>
    public double[] GetHyper(string name) => (double[])HyperArray(name).Clone();

    /// <summary>Sets one hyper-parameter for every group (one value per group, in group order).</summary>
    /// <exception cref="ArgumentException">Unknown name, wrong count, or a non-finite value.</exception>
    public void SetHyper(string name, double[] perGroup)
    {
        ArgumentNullException.ThrowIfNull(perGroup);
        var target = HyperArray(name);
        if (perGroup.Length != target.Length)
            throw new ArgumentException($"Hyper-parameter '{name}' needs {target.Length} values (one per group), got {perGroup.Length}.", nameof(perGroup));
        if (perGroup.Any(v => !double.IsFinite(v)))
            throw new ArgumentException($"Hyper-parameter '{name}' must be finite; got [{string.Join(", ", perGroup)}].", nameof(perGroup));
        Array.Copy(perGroup, target, target.Length);
    }

    /// <summary>Sets one hyper-parameter to the same value for every group.</summary>
    public void SetHyper(string name, double value) => SetHyper(name, Filled(Groups.Count, value));

    /// <summary>One optimisation step over every parameter that has a gradient.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int gi = 0; gi < Groups.Count; gi++)
        {
            var group = Groups[gi];
            var h = new Hypers(_hypers["lr"][gi], _hypers["mom"][gi], _hypers["sqr_mom"][gi], _hypers["eps"][gi], _hypers["wd"][gi]);
            for (int pi = 0; pi < group.Parameters.Count; pi++)
            {
                var (name, p) = group.Parameters[pi];
                var grad = p.grad;
                if (grad is null) continue;
                var state = _state[gi][pi] ??= new ParamState(p);
                AdamUpdate(p, grad, state, h, doWeightDecay: !group.IsNorm(name));
            }
        }
    }

    /// <summary>
    /// The whole update for one parameter, in fastai's order: decoupled weight decay, dampened first
    /// moment, second moment, step count, bias-corrected step.
    /// </summary>
    private static void AdamUpdate(Tensor p, Tensor g, ParamState s, Hypers h, bool doWeightDecay)
    {
        if (doWeightDecay && h.Wd != 0) p.mul_(1 - h.Lr * h.Wd);
        s.GradAvg.mul_(h.Mom).add_(g, 1 - h.Mom);
        s.SqrAvg.mul_(h.SqrMom).addcmul_(g, g, 1 - h.SqrMom);
        s.Step++;
        double debias1 = 1 - Math.Pow(h.Mom, s.Step);
        double debias2 = 1 - Math.Pow(h.SqrMom, s.Step);
        var denominator = s.SqrAvg.div(debias2).sqrt_().add_(h.Eps);
        p.addcdiv_(s.GradAvg, denominator, -h.Lr / debias1);
    }

    /// <summary>Zeroes every existing gradient in place (fastai's <c>zero_grad</c>; parameters without one stay without).</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope();
        foreach (var group in Groups)
            foreach (var (_, p) in group.Parameters)
                p.grad?.zero_();
    }

    /// <summary>Wipes both moments and the step count of every parameter (fastai's <c>clear_state</c>); hyper-parameters stay.</summary>
    public void ClearState()
    {
        foreach (var row in _state)
            for (int i = 0; i < row.Length; i++)
            {
                row[i]?.Dispose();
                row[i] = null;
            }
    }

    /// <summary>The step count of one parameter (0 when it has no state), for inspection and tests.</summary>
    public int StepCount(int group, int parameter) => _state[group][parameter]?.Step ?? 0;

    /// <summary>Copies the whole state (moments, step counts, hyper-parameters) so it can be put back later.</summary>
    public Snapshot CaptureState()
    {
        var copies = _state.Select(row => row.Select(s => s?.Clone()).ToArray()).ToArray();
        var hypers = _hypers.ToDictionary(kv => kv.Key, kv => (double[])kv.Value.Clone(), StringComparer.Ordinal);
        return new Snapshot(copies, hypers);
    }

    /// <summary>Puts back a state taken by <see cref="CaptureState"/> (copied again, so the snapshot can be reused).</summary>
    public void RestoreState(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ClearState();
        for (int g = 0; g < _state.Length; g++)
            for (int i = 0; i < _state[g].Length; i++)
                _state[g][i] = snapshot.States[g][i]?.Clone();
        foreach (var (name, values) in snapshot.Hypers) Array.Copy(values, _hypers[name], values.Length);
    }

    /// <summary>Format tag of <see cref="SaveState"/>; bumped when the layout changes.</summary>
    private const string StateFormat = "petsml-fastai-adam-v1";

    /// <summary>
    /// Writes the whole state (hyper-parameters, and per parameter: present or not, step count, both moments as fp32)
    /// to <paramref name="stream"/>, so a checkpoint can put it back in another process with <see cref="LoadState"/>.
    /// The stream stays open.
    /// </summary>
    public void SaveState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(StateFormat);
        writer.Write(HyperNames.Count);
        foreach (var name in HyperNames)
        {
            writer.Write(name);
            var values = _hypers[name];
            writer.Write(values.Length);
            foreach (var v in values) writer.Write(v);
        }
        writer.Write(_state.Length);
        for (int g = 0; g < _state.Length; g++)
        {
            writer.Write(_state[g].Length);
            for (int i = 0; i < _state[g].Length; i++)
            {
                var s = _state[g][i];
                writer.Write(s is not null);
                if (s is null) continue;
                writer.Write(s.Step);
                WriteTensor(writer, s.GradAvg);
                WriteTensor(writer, s.SqrAvg);
            }
        }
    }

    /// <summary>
    /// Replaces the state with one written by <see cref="SaveState"/> for an optimizer over the same parameter groups
    /// (same group and parameter counts, same shapes). Moments are created on each parameter's device and dtype.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream holds something else, or a state for other parameters.</exception>
    public void LoadState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            if (reader.ReadString() != StateFormat) throw new InvalidDataException("Not a PetsML optimizer state (wrong format tag).");
            var hypers = new Dictionary<string, double[]>(StringComparer.Ordinal);
            int hyperCount = reader.ReadInt32();
            for (int h = 0; h < hyperCount; h++)
            {
                var name = reader.ReadString();
                int count = reader.ReadInt32();
                // Checked before the array is sized by it: the count comes from a checkpoint file.
                if (!_hypers.TryGetValue(name, out var target) || target.Length != count)
                    throw new InvalidDataException($"The optimizer state's hyper-parameter '{name}' ({count} groups) does not fit this optimizer ({Groups.Count} groups).");
                var values = new double[count];
                for (int i = 0; i < values.Length; i++) values[i] = reader.ReadDouble();
                hypers[name] = values;
            }
            int groups = reader.ReadInt32();
            if (groups != _state.Length)
                throw new InvalidDataException($"The optimizer state has {groups} parameter groups; this optimizer has {_state.Length}.");
            var loaded = _state.Select(row => new ParamState?[row.Length]).ToArray();
            try
            {
                for (int g = 0; g < groups; g++)
                {
                    int count = reader.ReadInt32();
                    if (count != _state[g].Length)
                        throw new InvalidDataException($"Group {g} of the optimizer state has {count} parameters; this optimizer's has {_state[g].Length}.");
                    for (int i = 0; i < count; i++)
                    {
                        if (!reader.ReadBoolean()) continue;
                        var p = Groups[g].Parameters[i].Parameter;
                        var state = new ParamState(p) { Step = reader.ReadInt32() };
                        loaded[g][i] = state;
                        ReadTensorInto(reader, state.GradAvg, Groups[g].Parameters[i].Name);
                        ReadTensorInto(reader, state.SqrAvg, Groups[g].Parameters[i].Name);
                    }
                }
            }
            catch
            {
                foreach (var row in loaded) foreach (var s in row) s?.Dispose();
                throw;
            }
            ClearState();
            for (int g = 0; g < groups; g++) Array.Copy(loaded[g], _state[g], loaded[g].Length);
            foreach (var (name, values) in hypers) Array.Copy(values, _hypers[name], values.Length);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The optimizer state is truncated.", e);
        }
    }

    private static void WriteTensor(BinaryWriter writer, Tensor t)
    {
        using var scope = NewDisposeScope();
        var values = t.detach().to(ScalarType.Float32).cpu().data<float>().ToArray();
        writer.Write(values.Length);
        foreach (var v in values) writer.Write(v);
    }

    private static void ReadTensorInto(BinaryReader reader, Tensor target, string parameterName)
    {
        int n = reader.ReadInt32();
        if (n != target.numel())
            throw new InvalidDataException($"The optimizer state of '{parameterName}' has {n} values; the parameter has {target.numel()}.");
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = reader.ReadSingle();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        target.copy_(tensor(values, target.shape).to(target.dtype).to(target.device));
    }

    public void Dispose()
    {
        if (_disposed) return;
        ClearState();
        _disposed = true;
    }

    private double[] HyperArray(string name) =>
        _hypers.TryGetValue(name ?? throw new ArgumentNullException(nameof(name)), out var values)
            ? values
            : throw new ArgumentException($"Unknown hyper-parameter '{name}'; expected one of {string.Join(", ", HyperNames)}.", nameof(name));

    private static double[] Filled(int n, double value) => Enumerable.Repeat(value, n).ToArray();

    private readonly record struct Hypers(double Lr, double Mom, double SqrMom, double Eps, double Wd);

    /// <summary>A copy of the optimizer's state; owns its tensors.</summary>
    public sealed class Snapshot : IDisposable
    {
        internal Snapshot(ParamState?[][] states, Dictionary<string, double[]> hypers)
        {
            States = states;
            Hypers = hypers;
        }

        internal ParamState?[][] States { get; }
        internal Dictionary<string, double[]> Hypers { get; }

        public void Dispose()
        {
            foreach (var row in States)
                foreach (var s in row) s?.Dispose();
        }
    }

    /// <summary>Per-parameter Adam state: first and second moments (zeros at start) and the step count.</summary>
    internal sealed class ParamState : IDisposable
    {
        public ParamState(Tensor like)
        {
            // Detached from any scope: the state lives as long as the optimizer keeps it.
            GradAvg = zeros_like(like).DetachFromDisposeScope();
            SqrAvg = zeros_like(like).DetachFromDisposeScope();
        }

        private ParamState(Tensor gradAvg, Tensor sqrAvg, int step)
        {
            GradAvg = gradAvg;
            SqrAvg = sqrAvg;
            Step = step;
        }

        public Tensor GradAvg { get; }
        public Tensor SqrAvg { get; }
        public int Step { get; set; }

        public ParamState Clone()
        {
            using var _ = no_grad();
            return new ParamState(GradAvg.clone().DetachFromDisposeScope(), SqrAvg.clone().DetachFromDisposeScope(), Step);
        }

        public void Dispose()
        {
            GradAvg.Dispose();
            SqrAvg.Dispose();
        }
    }
}
