using System.Diagnostics;

namespace PetsML.Trainers.Training;

/// <summary>
/// Reports a <see cref="BatchProgress"/> after every batch to an <see cref="IProgress{T}"/> (order 70, after the
/// recorder so the smoothed loss includes the batch). The learner adds one when <see cref="LearnerOptions.Progress"/> is set.
/// </summary>
internal sealed class ProgressReporter : ILearnerCallback
{
    private readonly IProgress<BatchProgress> _progress;
    private readonly Stopwatch _clock = new();
    private long _items;
    private double _validLossSum;

    public ProgressReporter(IProgress<BatchProgress> progress) =>
        _progress = progress ?? throw new ArgumentNullException(nameof(progress));

    public int Order => CallbackOrder.Report;

    public void BeforeTrain(TrainingContext context) => StartPhase();

    public void BeforeValidate(TrainingContext context) => StartPhase();

    public void AfterBatch(TrainingContext context)
    {
        _items += context.BatchSize;
        double loss;
        if (context.IsTraining)
            loss = context.Learner.Recorder.SmoothedLoss;
        else
        {
            _validLossSum += context.BatchLoss * context.BatchSize;
            loss = _validLossSum / _items;
        }
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        _progress.Report(new BatchProgress(context.Phase, context.Epoch, context.EpochCount, context.BatchIndex + 1,
            context.BatchCount, _items / seconds, loss));
    }

    private void StartPhase()
    {
        _items = 0;
        _validLossSum = 0;
        _clock.Restart();
    }
}
