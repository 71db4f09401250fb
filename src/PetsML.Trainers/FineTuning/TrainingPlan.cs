using System.Globalization;

namespace PetsML.Trainers.FineTuning;

/// <summary>
/// The settings of a fine_tune that the user left unset, chosen in this one place from what Fit knows before training
/// (training and validation photos, classes, device), beside those the user set (which always win). The rules and the
/// measurements they come from are in docs/training-plan.md:
/// <list type="bullet">
/// <item>batch: the largest of 64, 32, 16, 8, 4 that gives at least <see cref="MinStepsPerEpoch"/> optimizer steps an epoch
/// (fastai's 64 on the lesson's 455 training photos gives 7); smaller sets get 4 (2 below 8 photos), so drop_last never
/// leaves out most of a tiny set;</item>
/// <item>unfrozen epochs: the most whole passes that see no more than <see cref="UnfrozenPhotos"/> photos in all (the
/// lesson's fine_tune(2) on pets-sample's 455 training photos), or <see cref="UnfrozenPhotosPerClass"/> a class when
/// that is more (more than 6 classes), at least 2 (the lesson's) and at most 8; one frozen epoch first;</item>
/// <item>base learning rate: fastai's 2e-3 at every size (no other value was measured);</item>
/// <item>with a time budget, the epochs that fit in it (<see cref="FitToBudget"/>).</item>
/// </list>
/// A plan is stored in the model and in the training checkpoint; a resumed run uses the stored one.
/// </summary>
/// <param name="TrainingPhotos">Training photos Fit read.</param>
/// <param name="Classes">Classes of the label.</param>
/// <param name="ValidationPhotos">Validation photos Fit read (0: none).</param>
/// <param name="BatchSize">Images per batch.</param>
/// <param name="Epochs">fine_tune's unfrozen epochs.</param>
/// <param name="FreezeEpochs">fine_tune's frozen epochs.</param>
/// <param name="BaseLearningRate">fine_tune's base_lr; null: the learning-rate finder's valley.</param>
/// <param name="SetByUser">The options the user set (they are used as set).</param>
/// <param name="Budget">The time budget and what fitting into it changed, or null without one.</param>
internal sealed record TrainingPlan(int TrainingPhotos, int Classes, int ValidationPhotos, int BatchSize, int Epochs, int FreezeEpochs,
    double? BaseLearningRate, PlanChoices SetByUser, BudgetFit? Budget = null)
{
    /// <summary>Fewest optimizer steps an epoch the plan aims for.</summary>
    public const int MinStepsPerEpoch = 7;

    /// <summary>Photos the unfrozen phase sees at most in all (epochs × training photos), unless <see cref="MinEpochs"/> passes see more.</summary>
    public const int UnfrozenPhotos = 1200;

    /// <summary>
    /// With many classes, photos the unfrozen phase sees a class: the budget of photos is the larger of
    /// <see cref="UnfrozenPhotos"/> and this times the classes (it is larger above 6 classes).
    /// </summary>
    public const int UnfrozenPhotosPerClass = 200;

    /// <summary>Fewest and most unfrozen epochs the plan picks.</summary>
    public const int MinEpochs = 2, MaxEpochs = 8;

    /// <summary>Frozen epochs the plan picks (fine_tune's freeze_epochs).</summary>
    public const int DefaultFreezeEpochs = 1;

    /// <summary>The plan's base learning rate (fine_tune's base_lr).</summary>
    public const double DefaultBaseLearningRate = 2e-3;

    /// <summary>Below this many training photos a class, the set is called tiny in the log.</summary>
    public const int TinyPhotosPerClass = 10;

    static readonly int[] BatchSizes = [64, 32, 16, 8, 4];

    /// <summary>Optimizer steps an epoch (training drops the last incomplete batch).</summary>
    public int StepsPerEpoch => TrainingPhotos / BatchSize;

    /// <summary>Training photos drop_last leaves out of each epoch (a different few each epoch, as the shuffle changes).</summary>
    public int DroppedPerEpoch => TrainingPhotos - StepsPerEpoch * BatchSize;

    /// <summary>Fewer than <see cref="TinyPhotosPerClass"/> training photos a class.</summary>
    public bool IsTiny => TrainingPhotos < TinyPhotosPerClass * Classes;

    /// <summary>
    /// The plan for this data: the user's values where <paramref name="user"/> has them, the rules' elsewhere.
    /// </summary>
    /// <exception cref="InvalidDataException">Fewer than 2 training photos (BatchNorm cannot train on batches of one).</exception>
    public static TrainingPlan Decide(int trainingPhotos, int classes, int validationPhotos, UserChoices user)
    {
        if (trainingPhotos < 2 && user.BatchSize is null)
            throw new InvalidDataException($"{trainingPhotos} training photo(s): fine-tuning needs at least 2 (BatchNorm trains on batches of 2 or more). Add photos, or lower ValidPct.");
        int batch = user.BatchSize ?? PlanBatchSize(trainingPhotos);
        int epochs = user.Epochs ?? PlanEpochs(trainingPhotos, classes);
        int freeze = user.FreezeEpochs ?? DefaultFreezeEpochs;
        double? lr = user.LearningRateSet ? user.BaseLearningRate : DefaultBaseLearningRate;
        var set = (user.BatchSize is null ? 0 : PlanChoices.BatchSize) | (user.Epochs is null ? 0 : PlanChoices.Epochs)
            | (user.FreezeEpochs is null ? 0 : PlanChoices.FreezeEpochs) | (user.LearningRateSet ? PlanChoices.BaseLearningRate : 0);
        return new TrainingPlan(trainingPhotos, classes, validationPhotos, batch, epochs, freeze, lr, set);
    }

    /// <summary>The largest batch of 64..4 with at least <see cref="MinStepsPerEpoch"/> steps; 4 for smaller sets, 2 below 8 photos.</summary>
    internal static int PlanBatchSize(int trainingPhotos)
    {
        foreach (var batch in BatchSizes)
            if (trainingPhotos / batch >= MinStepsPerEpoch) return batch;
        return trainingPhotos >= 8 ? 4 : 2;
    }

    /// <summary>Photos the unfrozen phase may see in all: <see cref="UnfrozenPhotos"/>, or <see cref="UnfrozenPhotosPerClass"/> a class when more.</summary>
    internal static int UnfrozenPhotoBudget(int classes) => Math.Max(UnfrozenPhotos, UnfrozenPhotosPerClass * Math.Max(1, classes));

    /// <summary>The most unfrozen epochs that see no more than <see cref="UnfrozenPhotoBudget"/> photos, within [<see cref="MinEpochs"/>, <see cref="MaxEpochs"/>].</summary>
    internal static int PlanEpochs(int trainingPhotos, int classes)
        => Math.Clamp(UnfrozenPhotoBudget(classes) / Math.Max(1, trainingPhotos), MinEpochs, MaxEpochs);

    /// <summary>
    /// The epochs that fit in <paramref name="budget"/> at <paramref name="secondsPerEpoch"/> (an estimate, frozen and
    /// unfrozen epochs alike): fewer unfrozen epochs first, then no frozen epoch (unless <paramref name="keepFrozen"/>),
    /// never fewer than one unfrozen epoch. The same plan when all its epochs fit.
    /// </summary>
    public TrainingPlan FitToBudget(TimeSpan budget, double secondsPerEpoch, bool keepFrozen = false)
    {
        int total = FreezeEpochs + Epochs;
        int fits = secondsPerEpoch > 0 ? (int)Math.Floor(budget.TotalSeconds / secondsPerEpoch) : int.MaxValue;
        if (fits >= total) return this with { Budget = new BudgetFit(budget, secondsPerEpoch, total, total) };
        int freeze = Math.Min(FreezeEpochs, keepFrozen ? Math.Max(1, fits - 1) : fits >= 2 ? 1 : 0);
        int epochs = Math.Max(1, fits - freeze);
        return this with { Epochs = epochs, FreezeEpochs = freeze, Budget = new BudgetFit(budget, secondsPerEpoch, total, freeze + epochs) };
    }

    /// <summary>The log lines that say what was chosen and why (the first lines of a Fit).</summary>
    public IEnumerable<string> Describe()
    {
        var c = CultureInfo.InvariantCulture;
        string lr = BaseLearningRate is { } rate ? "lr " + rate.ToString("0.##e+0", c) : "lr from lr_find";
        var planned = new List<string>();
        var set = new List<string>();
        void Name(PlanChoices choice, string option) => (SetByUser.HasFlag(choice) ? set : planned).Add(option);
        Name(PlanChoices.BatchSize, "BatchSize");
        Name(PlanChoices.Epochs, "Epochs");
        Name(PlanChoices.FreezeEpochs, "FreezeEpochs");
        Name(PlanChoices.BaseLearningRate, "BaseLearningRate");
        string who = (set.Count, planned.Count) switch
        {
            (0, _) => $"planned for this data; {string.Join('/', planned)} set them",
            (_, 0) => "all as set in the options",
            _ => $"{string.Join('/', set)} as set, the rest planned for this data",
        };
        yield return string.Create(c, $"{TrainingPhotos} training photos, {Classes} classes: batch {BatchSize}, {StepsPerEpoch} steps an epoch, " +
            $"fine_tune({Epochs}) with {FreezeEpochs} frozen, {lr}; {who}.");
        if (!SetByUser.HasFlag(PlanChoices.BatchSize) && !SetByUser.HasFlag(PlanChoices.Epochs) && planned.Count > 0)
            yield return string.Create(c, $"Why: batch {BatchSize} is the largest of 64, 32, 16, 8, 4 with at least {MinStepsPerEpoch} steps an epoch " +
                $"(or the smallest), and {Epochs} unfrozen epochs: as many whole passes as fit in {UnfrozenPhotoBudget(Classes)} photos " +
                $"(the larger of {UnfrozenPhotos} and {UnfrozenPhotosPerClass} a class), between {MinEpochs} and {MaxEpochs}.");
        if (DroppedPerEpoch > 0)
            yield return string.Create(c, $"drop_last leaves {DroppedPerEpoch} of the {TrainingPhotos} training photos out of each epoch (different ones each epoch).");
        if (IsTiny)
            yield return string.Create(c, $"This is a tiny set ({(double)TrainingPhotos / Classes:0.#} training photos a class, fewer than {TinyPhotosPerClass}): " +
                $"it trains, but expect a rough model and noisy validation figures; more photos a class help most.");
        if (ValidationPhotos == 0) yield break;
        if (ValidationPhotos < 2 * Classes)
            yield return string.Create(c, $"Only {ValidationPhotos} validation photos: the error rate moves in steps of {1.0 / ValidationPhotos:0.###}.");
    }

    /// <summary>The log line of the time budget, or null without one.</summary>
    public string? DescribeBudget()
    {
        if (Budget is not { } b) return null;
        var c = CultureInfo.InvariantCulture;
        string epoch = string.Create(c, $"one epoch is estimated at {b.SecondsPerEpoch:0.#} s from a timed probe");
        if (b.EpochsAfter >= b.EpochsPlanned)
            return string.Create(c, $"Time budget {Format(b.Budget)}: {epoch}, so the {b.EpochsPlanned} epochs (about {b.SecondsPerEpoch * b.EpochsPlanned / 60:0.#} min) fit.");
        if (b.SecondsPerEpoch * b.EpochsAfter > b.Budget.TotalSeconds)
            return string.Create(c, $"Time budget {Format(b.Budget)}: {epoch}, longer than the budget: training 1 of the {b.EpochsPlanned} planned epochs, " +
                $"fine_tune({Epochs}) with {FreezeEpochs} frozen.");
        return string.Create(c, $"Time budget {Format(b.Budget)}: {epoch}; {b.EpochsAfter} of the {b.EpochsPlanned} planned epochs fit, " +
            $"so fine_tune({Epochs}) with {FreezeEpochs} frozen.");
    }

    static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{t.TotalHours:0.##} h" : t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.##} min" : $"{t.TotalSeconds:0.#} s";

    /// <summary>Writes the plan (the model's and the checkpoint's copy).</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(TrainingPhotos); w.Write(Classes); w.Write(ValidationPhotos);
        w.Write(BatchSize); w.Write(Epochs); w.Write(FreezeEpochs);
        w.Write(BaseLearningRate ?? double.NaN);
        w.Write((int)SetByUser);
        w.Write(Budget?.Budget.TotalSeconds ?? 0);
        w.Write(Budget?.SecondsPerEpoch ?? 0);
        w.Write(Budget?.EpochsPlanned ?? 0);
        w.Write(Budget?.EpochsAfter ?? 0);
    }

    /// <summary>Reads what <see cref="Write"/> wrote, checking every number.</summary>
    /// <exception cref="InvalidDataException">A value no plan has.</exception>
    public static TrainingPlan Read(BinaryReader r)
    {
        int train = r.ReadInt32(), classes = r.ReadInt32(), valid = r.ReadInt32(), batch = r.ReadInt32(), epochs = r.ReadInt32(), freeze = r.ReadInt32();
        double lr = r.ReadDouble();
        int set = r.ReadInt32();
        double budget = r.ReadDouble(), perEpoch = r.ReadDouble();
        int planned = r.ReadInt32(), after = r.ReadInt32();
        if (train < 0 || classes < 0 || valid < 0 || batch < 1 || epochs < 0 || freeze < 0 || (set & ~(int)PlanChoices.All) != 0
            || !(double.IsNaN(lr) || lr > 0 && double.IsFinite(lr)) || !(budget >= 0 && double.IsFinite(budget)) || !(perEpoch >= 0 && double.IsFinite(perEpoch))
            || planned < 0 || after < 0)
            throw new InvalidDataException("The stored training plan has values no plan has.");
        return new TrainingPlan(train, classes, valid, batch, epochs, freeze, double.IsNaN(lr) ? null : lr, (PlanChoices)set,
            budget > 0 ? new BudgetFit(TimeSpan.FromSeconds(budget), perEpoch, planned, after) : null);
    }
}

/// <summary>The options a user set; null (or false) where the plan decides.</summary>
internal sealed record UserChoices(int? BatchSize = null, int? Epochs = null, int? FreezeEpochs = null, bool LearningRateSet = false, double? BaseLearningRate = null);

/// <summary>Which of the plan's settings came from the user.</summary>
[Flags]
internal enum PlanChoices
{
    None = 0,
    BatchSize = 1,
    Epochs = 2,
    FreezeEpochs = 4,
    BaseLearningRate = 8,
    All = BatchSize | Epochs | FreezeEpochs | BaseLearningRate,
}

/// <summary>A time budget and the epochs that fit in it.</summary>
/// <param name="Budget">The user's MaxTrainingTime.</param>
/// <param name="SecondsPerEpoch">The estimated seconds of one epoch (training and validation).</param>
/// <param name="EpochsPlanned">Frozen plus unfrozen epochs before the budget.</param>
/// <param name="EpochsAfter">Frozen plus unfrozen epochs that fit.</param>
internal sealed record BudgetFit(TimeSpan Budget, double SecondsPerEpoch, int EpochsPlanned, int EpochsAfter);
