namespace PetsML;

/// <summary>
/// The named positions of <see cref="ILearnerCallback.Order"/> (fastai's <c>order</c>): callbacks run in ascending order,
/// ties in registration order. A callback of your own picks the position of what it must come after, plus or minus a little
/// (for example <c>Schedule + 5</c> to read the hyper-parameters the scheduler set for this batch).
/// </summary>
public static class CallbackOrder
{
    /// <summary>−20: changes what the batches are before anything reads them (progressive resizing).</summary>
    public const int Data = -20;

    /// <summary>0, the default: tricks that change a batch, its loss or its step (MixUp, CutMix, gradient accumulation).</summary>
    public const int Tricks = 0;

    /// <summary>50: the recorder, which computes the epoch's row (losses, error rate) in AfterEpoch.</summary>
    public const int Recorder = 50;

    /// <summary>60: sets the hyper-parameters of each batch (one-cycle, the learning-rate finder).</summary>
    public const int Schedule = 60;

    /// <summary>65: reads the recorder's row and keeps the best epoch's weights.</summary>
    public const int KeepBest = 65;

    /// <summary>70: reports the epoch's row (progress, the log).</summary>
    public const int Report = 70;

    /// <summary>80: ends the fit (early stopping), once the row is kept and reported.</summary>
    public const int Stop = 80;

    /// <summary>90: saves the run (checkpoints) and shows the finished epoch, after every callback above has decided.</summary>
    public const int Checkpoint = 90;

    /// <summary>100: puts a checkpoint's state back at the start of a resumed fit, after every other BeforeFit has reset its own.</summary>
    public const int Resume = 100;
}
