using PetsML.Trainers.Training;

namespace PetsML.Trainers.Scheduling;

/// <summary>
/// fastai's <c>ParamScheduler</c> (order 60): before every <em>training</em> batch sets each scheduled
/// hyper-parameter of every group to its schedule's value at <see cref="TrainingContext.PctTrain"/>.
/// Validation batches leave the hyper-parameters alone. The values set are kept (see <see cref="History"/>).
/// </summary>
internal sealed class ParamScheduler : ILearnerCallback
{
    private readonly Dictionary<string, Schedule[]> _schedules;
    private readonly Dictionary<string, List<double[]>> _history;

    /// <param name="schedules">Per hyper-parameter name (lr, mom, sqr_mom, eps, wd), one schedule per parameter group.</param>
    public ParamScheduler(IReadOnlyDictionary<string, Schedule[]> schedules)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        if (schedules.Count == 0) throw new ArgumentException("At least one hyper-parameter must be scheduled.", nameof(schedules));
        foreach (var (name, perGroup) in schedules)
        {
            if (!Optimization.FastaiAdam.HyperNames.Contains(name))
                throw new ArgumentException($"Unknown hyper-parameter '{name}'; expected one of {string.Join(", ", Optimization.FastaiAdam.HyperNames)}.", nameof(schedules));
            if (perGroup is null || perGroup.Length == 0 || perGroup.Any(s => s is null))
                throw new ArgumentException($"Hyper-parameter '{name}' needs one schedule per parameter group.", nameof(schedules));
        }
        _schedules = schedules.ToDictionary(kv => kv.Key, kv => (Schedule[])kv.Value.Clone(), StringComparer.Ordinal);
        _history = _schedules.Keys.ToDictionary(k => k, _ => new List<double[]>(), StringComparer.Ordinal);
    }

    /// <summary>
    /// fastai's one-cycle schedule: lr = combined_cos(pctStart, L/div, L, L/divFinal) per group (L = peak learning
    /// rates), mom = combined_cos(pctStart, moms.Start, moms.Middle, moms.End).
    /// </summary>
    public static ParamScheduler OneCycle(double[] maxLearningRates, double div, double divFinal, double pctStart,
        (double Start, double Middle, double End) moms)
    {
        ArgumentNullException.ThrowIfNull(maxLearningRates);
        if (!(div > 0)) throw new ArgumentOutOfRangeException(nameof(div), div, "div must be positive.");
        if (!(divFinal > 0)) throw new ArgumentOutOfRangeException(nameof(divFinal), divFinal, "divFinal must be positive.");
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "pctStart must lie in [0, 1].");
        var lr = maxLearningRates.Select(l => Schedules.CombinedCos(pctStart, l / div, l, l / divFinal)).ToArray();
        var mom = maxLearningRates.Select(_ => Schedules.CombinedCos(pctStart, moms.Start, moms.Middle, moms.End)).ToArray();
        return new ParamScheduler(new Dictionary<string, Schedule[]> { ["lr"] = lr, ["mom"] = mom });
    }

    public int Order => CallbackOrder.Schedule;

    /// <summary>The names of the scheduled hyper-parameters.</summary>
    public IReadOnlyCollection<string> ScheduledHypers => _schedules.Keys;

    /// <summary>The per-group values of <paramref name="name"/> set before each training batch of the current (or last) fit.</summary>
    public IReadOnlyList<double[]> History(string name) =>
        _history.TryGetValue(name, out var values) ? values : throw new ArgumentException($"'{name}' is not scheduled.", nameof(name));

    /// <summary>Every scheduled hyper-parameter's per-group values at position <paramref name="pos"/>.</summary>
    public IReadOnlyDictionary<string, double[]> ValuesAt(double pos) =>
        _schedules.ToDictionary(kv => kv.Key, kv => kv.Value.Select(s => s(pos)).ToArray(), StringComparer.Ordinal);

    public void BeforeFit(TrainingContext context)
    {
        foreach (var (name, perGroup) in _schedules)
        {
            if (perGroup.Length != context.Optimizer.Groups.Count)
                throw new InvalidOperationException($"The '{name}' schedule has {perGroup.Length} groups but the optimizer has {context.Optimizer.Groups.Count}.");
            _history[name].Clear();
        }
    }

    public void BeforeBatch(TrainingContext context)
    {
        if (!context.IsTraining) return;
        foreach (var (name, values) in ValuesAt(context.PctTrain))
        {
            context.Optimizer.SetHyper(name, values);
            _history[name].Add(values);
        }
    }
}
