using System.Globalization;

namespace PetsML;

/// <summary>
/// A learning rate as fastai accepts it (fastai's <c>set_hyper</c>; docs/fastai-semantics.md, "Learning rates per parameter group"): one value for every
/// parameter group, <c>slice(stop)</c>, <c>slice(start, stop)</c>, or an explicit value per group.
/// <see cref="ForGroups"/> turns it into one value per group.
/// </summary>
public sealed class LearningRate
{
    private enum Kind { Single, SliceStop, SliceStartStop, PerGroup }

    private readonly Kind _kind;
    private readonly double _start;
    private readonly double _stop;
    private readonly double[] _perGroup;

    private LearningRate(Kind kind, double start, double stop, double[] perGroup)
    {
        _kind = kind;
        _start = start;
        _stop = stop;
        _perGroup = perGroup;
    }

    /// <summary>The same learning rate for every group (frozen groups still train their BatchNorm with it).</summary>
    public static LearningRate Single(double value) => new(Kind.Single, value, value, [RequirePositive(value, nameof(value))]);

    /// <summary>fastai's <c>slice(stop)</c>: the last group gets <paramref name="stop"/>, every other group stop/10.</summary>
    public static LearningRate Slice(double stop) => new(Kind.SliceStop, RequirePositive(stop, nameof(stop)) / 10, stop, []);

    /// <summary>
    /// fastai's <c>slice(start, stop)</c>: geometric spacing start·q^i with q = (stop/start)^(1/(n−1))
    /// (fastcore's <c>even_mults</c>); for 3 groups [start, √(start·stop), stop].
    /// </summary>
    public static LearningRate Slice(double start, double stop) =>
        new(Kind.SliceStartStop, RequirePositive(start, nameof(start)), RequirePositive(stop, nameof(stop)), []);

    /// <summary>An explicit learning rate per group; the array must have one value per group.</summary>
    public static LearningRate PerGroup(params double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0) throw new ArgumentException("At least one learning rate is needed.", nameof(values));
        foreach (var v in values) RequirePositive(v, nameof(values));
        return new(Kind.PerGroup, values[0], values[^1], (double[])values.Clone());
    }

    /// <summary>A single learning rate.</summary>
    public static implicit operator LearningRate(double value) => Single(value);

    /// <summary>The largest value handed to any group (the last group's for slices).</summary>
    public double Max => _kind == Kind.PerGroup ? _perGroup.Max() : _stop;

    /// <summary>One learning rate per parameter group, in group order.</summary>
    /// <exception cref="ArgumentException">An explicit array does not have <paramref name="groupCount"/> values.</exception>
    public double[] ForGroups(int groupCount)
    {
        if (groupCount < 1) throw new ArgumentOutOfRangeException(nameof(groupCount), groupCount, "There must be at least one parameter group.");
        switch (_kind)
        {
            case Kind.Single:
                return Enumerable.Repeat(_stop, groupCount).ToArray();
            case Kind.SliceStop:
            {
                var lrs = Enumerable.Repeat(_stop / 10, groupCount).ToArray();
                lrs[^1] = _stop;
                return lrs;
            }
            case Kind.SliceStartStop:
                return EvenMults(_start, _stop, groupCount);
            default:
                if (_perGroup.Length != groupCount)
                    throw new ArgumentException($"The learning rate has {_perGroup.Length} values but the model has {groupCount} parameter groups; give one value per group.", nameof(groupCount));
                return (double[])_perGroup.Clone();
        }
    }

    /// <summary>fastcore's <c>even_mults</c>: n values from start to stop, evenly spaced on a log scale (n = 1 gives stop).</summary>
    public static double[] EvenMults(double start, double stop, int n)
    {
        if (n == 1) return [stop];
        double step = Math.Pow(stop / start, 1.0 / (n - 1));
        return Enumerable.Range(0, n).Select(i => start * Math.Pow(step, i)).ToArray();
    }

    public override string ToString() => _kind switch
    {
        Kind.Single => Format(_stop),
        Kind.SliceStop => $"slice({Format(_stop)})",
        Kind.SliceStartStop => $"slice({Format(_start)}, {Format(_stop)})",
        _ => "[" + string.Join(", ", _perGroup.Select(Format)) + "]",
    };

    private static string Format(double v) => v.ToString("g4", CultureInfo.InvariantCulture);

    private static double RequirePositive(double value, string name) =>
        value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(name, value, "A learning rate must be a positive, finite number.");
}
