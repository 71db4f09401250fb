using System.Diagnostics;
using System.Globalization;
using System.Text;
using PetsML.Trainers.Losses;
using PetsML.Trainers.Training;

namespace PetsML;

/// <summary>
/// fastai's <c>Recorder</c> (order 50): per training batch the last group's learning rate and the smoothed loss;
/// per epoch a row of the table (train_loss = smoothed loss, valid_loss = item-weighted mean, error_rate,
/// accuracy, time). Everything is reset at the start of each fit, like fastai; <see cref="Learner.History"/>
/// keeps the rows of every fit.
/// </summary>
public sealed class Recorder : ILearnerCallback
{
    private readonly SmoothedLoss _smooth = new();
    private readonly List<double> _lrs = [];
    private readonly List<double> _losses = [];
    private readonly List<EpochRecord> _epochs = [];
    private readonly Stopwatch _epochClock = new();
    private double _validLossSum;
    private long _validCorrect;
    private long _validCount;
    private bool _validated;

    public int Order => CallbackOrder.Recorder;

    /// <summary>Last group's learning rate at each training batch of the current (or last) fit.</summary>
    public IReadOnlyList<double> LearningRates => _lrs;

    /// <summary>Smoothed training loss after each training batch of the current (or last) fit.</summary>
    public IReadOnlyList<double> SmoothedLosses => _losses;

    /// <summary>The epoch rows of the current (or last) fit.</summary>
    public IReadOnlyList<EpochRecord> Epochs => _epochs;

    /// <summary>The current smoothed training loss (NaN before the first batch of a fit).</summary>
    public double SmoothedLoss => _smooth.Value;

    /// <summary>The smoothed loss's state, for a checkpoint.</summary>
    internal SmoothedLossState SmoothingState => _smooth.State;

    /// <summary>Continues the smoothed loss of an interrupted fit (after <see cref="BeforeFit"/> reset it).</summary>
    internal void RestoreSmoothing(SmoothedLossState state) => _smooth.Restore(state);

    public void BeforeFit(TrainingContext context)
    {
        _smooth.Reset();
        _lrs.Clear();
        _losses.Clear();
        _epochs.Clear();
    }

    public void BeforeEpoch(TrainingContext context)
    {
        _epochClock.Restart();
        _validated = false;
    }

    public void BeforeValidate(TrainingContext context)
    {
        _validLossSum = 0;
        _validCorrect = 0;
        _validCount = 0;
        _validated = true;
    }

    public void AfterBatch(TrainingContext context)
    {
        if (context.IsTraining)
        {
            _smooth.Add(context.BatchLoss);
            _lrs.Add(context.Optimizer.GetHyper("lr")[^1]);
            _losses.Add(_smooth.Value);
            return;
        }
        // fastai's AvgLoss/AvgMetric: batch means weighted by batch size = the mean over all items.
        _validLossSum += context.BatchLoss * context.BatchSize;
        _validCount += context.BatchSize;
        if (context.Logits is not null && context.Targets is not null)
            _validCorrect += ClassificationMetrics.CorrectCount(context.Logits, context.Targets);
    }

    public void AfterEpoch(TrainingContext context)
    {
        double? validLoss = null, accuracy = null, errorRate = null;
        if (_validated && _validCount > 0)
        {
            validLoss = _validLossSum / _validCount;
            accuracy = (double)_validCorrect / _validCount;
            errorRate = 1 - accuracy;
        }
        _epochs.Add(new EpochRecord(context.Epoch, _smooth.Value, validLoss, errorRate, accuracy, _epochClock.Elapsed));
    }

    /// <summary>Marks the current fit's row of 0-based <paramref name="epoch"/> as the one whose weights were kept.</summary>
    internal void MarkKept(int epoch)
    {
        for (int i = 0; i < _epochs.Count; i++)
            _epochs[i] = _epochs[i] with { Kept = _epochs[i].Epoch == epoch };
    }

    /// <summary>The current fit's rows as fastai prints them.</summary>
    public string FormatTable() => FormatTable(_epochs);

    /// <summary>
    /// fastai's epoch table: columns epoch, train_loss, valid_loss, error_rate, accuracy, time; floats with 6
    /// decimals, time as mm:ss (h:mm:ss past an hour), missing values as None. A kept epoch
    /// (<see cref="EpochRecord.Kept"/>) has " (kept)" after its number.
    /// </summary>
    public static string FormatTable(IEnumerable<EpochRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        string[] header = ["epoch", "train_loss", "valid_loss", "error_rate", "accuracy", "time"];
        var rows = records.Select(r => new[]
        {
            r.Epoch.ToString(CultureInfo.InvariantCulture) + (r.Kept ? " (kept)" : ""), F(r.TrainLoss), F(r.ValidLoss), F(r.ErrorRate), F(r.Accuracy), FormatTime(r.Elapsed),
        }).ToList();
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells) => sb.AppendLine(string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        foreach (var row in rows) Line(row);
        return sb.ToString();
    }

    /// <summary>fastai's <c>format_time</c>: whole seconds as mm:ss, or h:mm:ss from one hour.</summary>
    public static string FormatTime(TimeSpan elapsed)
    {
        long t = (long)elapsed.TotalSeconds;
        long h = t / 3600, m = t / 60 % 60, s = t % 60;
        return h != 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:00}:{s:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{m:00}:{s:00}");
    }

    private static string F(double? v) => v is { } x ? x.ToString("F6", CultureInfo.InvariantCulture) : "None";
}
