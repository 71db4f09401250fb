using System.Diagnostics;
using System.Globalization;
using PetsML.Trainers.Training;
using Spectre.Console;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// Shows training progress: on a terminal, a live bar per epoch phase with batches done, images/s, the current
/// loss and the ETA; otherwise (output redirected, CI logs) plain lines, one every <see cref="PlainLineInterval"/>
/// and one at the end of every phase. It is both the trainer's <see cref="IProgress{T}"/> and a callback that
/// notices each new fit (fine_tune runs two: frozen, then unfrozen).
/// </summary>
public sealed class TrainingProgressDisplay : IProgress<BatchProgress>, ILearnerCallback
{
    /// <summary>Time between two plain progress lines inside a phase.</summary>
    public static readonly TimeSpan PlainLineInterval = TimeSpan.FromSeconds(15);

    readonly IAnsiConsole _console;
    readonly bool _live;
    readonly Stopwatch _sinceLine = Stopwatch.StartNew();
    readonly Stopwatch _phaseClock = Stopwatch.StartNew();
    ProgressContext? _context;
    ProgressTask? _task;
    (int Fit, int Epoch, TrainingPhase Phase) _current = (-1, -1, TrainingPhase.Train);
    int _fit = -1;
    int _namedFit = -1;
    string _fitName = "fit";

    public TrainingProgressDisplay(IAnsiConsole console, bool? live = null)
    {
        _console = console;
        _live = live ?? console.Profile.Capabilities.Interactive;
    }

    /// <summary>Names the fits in order (e.g. "frozen", "unfrozen"); others are called "fit N".</summary>
    public IReadOnlyList<string> FitNames { get; set; } = [];

    public int Order => CallbackOrder.Checkpoint;

    /// <summary>Runs <paramref name="work"/> with the display active (a live progress area on a terminal).</summary>
    public T Run<T>(Func<T> work)
    {
        if (!_live) return work();
        T result = default!;
        _console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                _context = context;
                try { result = work(); }
                finally { _context = null; }
            });
        return result;
    }

    public void BeforeFit(TrainingContext context)
    {
        _fit++;
        // lr_find's fit is not one of the named training fits.
        if (context.IsLrFind) { _fitName = "lr_find"; return; }
        _namedFit++;
        _fitName = _namedFit < FitNames.Count ? FitNames[_namedFit] : $"fit {_namedFit + 1}";
    }

    public void Report(BatchProgress value)
    {
        var key = (_fit, value.Epoch, value.Phase);
        if (key != _current) _phaseClock.Restart();
        var eta = TimeSpan.FromSeconds(_phaseClock.Elapsed.TotalSeconds / Math.Max(1, value.Batch) * (value.BatchCount - value.Batch));
        string phase = value.Phase == TrainingPhase.Train ? "train" : "valid";
        string text = string.Create(CultureInfo.InvariantCulture,
            $"{_fitName} epoch {value.Epoch + 1}/{value.EpochCount} {phase} {value.Batch}/{value.BatchCount}  {value.ImagesPerSecond:0.0} img/s  loss {value.Loss:0.0000}  eta {eta:mm\\:ss}");
        if (_live && _context is not null)
        {
            if (key != _current || _task is null)
            {
                _task?.StopTask();
                _task = _context.AddTask(Markup.Escape(text), maxValue: value.BatchCount);
                _current = key;
            }
            _task.Description = Markup.Escape(text);
            _task.Value = value.Batch;
            if (value.Batch == value.BatchCount) _task.StopTask();
            return;
        }

        bool phaseDone = value.Batch == value.BatchCount;
        if (key != _current) { _current = key; _sinceLine.Restart(); }
        if (phaseDone || _sinceLine.Elapsed >= PlainLineInterval)
        {
            _console.WriteLine(text);
            _sinceLine.Restart();
        }
    }
}
