using PetsML.Trainers.Optimization;
using PetsML.Trainers.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PetsML.Trainers.LrFinding;

/// <summary>
/// fastai's <c>LRFinder</c>, a scheduler callback (order 60, after the recorder): before each training batch sets
/// every group's lr to start·(end/start)^(iteration/numIt); after each batch stops the fit when the smoothed loss
/// exceeds 4× the best so far (or is NaN), or after numIt batches; skips validation; copies the model's weights
/// and buffers and the optimizer's state (moments, steps, hyper-parameters) at the start and puts them back
/// at the end, also when the fit ends with an exception.
/// </summary>
internal sealed class LrFinder : ILearnerCallback
{
    /// <summary>fastai's defaults.</summary>
    public static class Defaults
    {
        public const double StartLr = 1e-7;
        public const double EndLr = 10;
        public const int NumIt = 100;
        /// <summary>fastai raises num_it to at least this.</summary>
        public const int MinNumIt = 6;
    }

    private Dictionary<string, Tensor>? _savedModel;
    private FastaiAdam.Snapshot? _savedOptimizer;
    private double _best;

    public LrFinder(double startLr = Defaults.StartLr, double endLr = Defaults.EndLr, int numIt = Defaults.NumIt, bool stopDiv = true)
    {
        if (!(startLr > 0) || !double.IsFinite(startLr)) throw new ArgumentOutOfRangeException(nameof(startLr), startLr, "startLr must be positive and finite.");
        if (!(endLr > startLr) || !double.IsFinite(endLr)) throw new ArgumentOutOfRangeException(nameof(endLr), endLr, "endLr must be finite and larger than startLr.");
        if (numIt < 1) throw new ArgumentOutOfRangeException(nameof(numIt), numIt, "numIt must be at least 1.");
        StartLr = startLr;
        EndLr = endLr;
        NumIt = Math.Max(numIt, Defaults.MinNumIt);
        StopDiv = stopDiv;
    }

    public double StartLr { get; }
    public double EndLr { get; }
    /// <summary>Number of batches to run (at least 6).</summary>
    public int NumIt { get; }
    /// <summary>Stop when the smoothed loss exceeds 4× the best.</summary>
    public bool StopDiv { get; }

    public int Order => CallbackOrder.Schedule;

    /// <summary>The learning rate of training batch <paramref name="iteration"/>: start·(end/start)^(iteration/numIt).</summary>
    public double LearningRateAt(int iteration) => StartLr * Math.Pow(EndLr / StartLr, (double)iteration / NumIt);

    public void BeforeFit(TrainingContext context)
    {
        _best = double.PositiveInfinity;
        using var _ = no_grad();
        _savedModel = context.Learner.Model.state_dict()
            .ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal);
        _savedOptimizer = context.Optimizer.CaptureState();
    }

    public void BeforeBatch(TrainingContext context)
    {
        if (context.IsTraining) context.Optimizer.SetHyper("lr", LearningRateAt(context.Iteration));
    }

    public void AfterBatch(TrainingContext context)
    {
        if (!context.IsTraining) return;
        double smooth = context.Learner.Recorder.SmoothedLoss;
        if (smooth < _best) _best = smooth;
        if (StopDiv && (smooth > 4 * _best || double.IsNaN(smooth)))
            throw new CancelFitException("The smoothed loss exceeded 4× its best value.");
        if (context.Iteration >= NumIt)
            throw new CancelFitException($"The finder ran its {NumIt} iterations.");
    }

    public void BeforeValidate(TrainingContext context) => throw new CancelValidateException("The learning-rate finder does not validate.");

    public void AfterFit(TrainingContext context)
    {
        if (_savedModel is not null)
        {
            using (no_grad())
            {
                foreach (var (name, tensor) in context.Learner.Model.state_dict())
                    tensor.copy_(_savedModel[name]);
            }
            foreach (var t in _savedModel.Values) t.Dispose();
            _savedModel = null;
        }
        if (_savedOptimizer is not null)
        {
            context.Optimizer.RestoreState(_savedOptimizer);
            _savedOptimizer.Dispose();
            _savedOptimizer = null;
        }
    }
}
