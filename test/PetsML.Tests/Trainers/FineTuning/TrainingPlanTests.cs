using PetsML.Trainers.FineTuning;

namespace PetsML.Tests.Trainers.FineTuning;

/// <summary>
/// The training plan's rules as pure functions (docs/training-plan.md): the choices for tiny, small, medium, lesson-sized
/// and Oxford-Pet-sized sets, explicit options winning, the time budget, and the stored form.
/// </summary>
[TestClass]
public sealed class TrainingPlanTests
{
    static TrainingPlan Plan(int train, int classes = 3, int valid = 30, UserChoices? user = null)
        => TrainingPlan.Decide(train, classes, valid, user ?? new UserChoices());

    [TestMethod]
    [DataRow(455, 3, 64, 7, 2, DisplayName = "pets-sample (455 training photos, 3 breeds): the lesson's batch 64, fine_tune(2)")]
    [DataRow(5912, 37, 64, 92, 2, DisplayName = "the full Oxford-IIIT Pet set (37 breeds): the lesson's batch 64, fine_tune(2)")]
    [DataRow(500, 10, 64, 7, 4, DisplayName = "50 photos a class of 10: 200 a class (2,000 photos) is more than 1,200, fine_tune(4)")]
    [DataRow(500, 6, 64, 7, 2, DisplayName = "6 classes: 200 a class is no more than 1,200, fine_tune(2)")]
    [DataRow(300, 10, 32, 9, 6, DisplayName = "30 photos a class of 10: batch 32, fine_tune(6)")]
    [DataRow(296, 37, 32, 9, 8, DisplayName = "8 photos a class of 37: the most epochs")]
    [DataRow(240, 3, 32, 7, 5, DisplayName = "100 photos a class: batch 32, fine_tune(5)")]
    [DataRow(119, 3, 16, 7, 8, DisplayName = "50 photos a class (the issue's 119): batch 16, 7 steps, the most epochs")]
    [DataRow(48, 3, 4, 12, 8, DisplayName = "20 photos a class: batch 4, the most epochs")]
    [DataRow(12, 3, 4, 3, 8, DisplayName = "5 photos a class: batch 4, nothing dropped")]
    [DataRow(5, 2, 2, 2, 8, DisplayName = "below 8 photos: batch 2")]
    public void The_plan_picks_the_documented_batch_and_epochs(int train, int classes, int batch, int steps, int epochs)
    {
        var plan = Plan(train, classes);

        Assert.AreEqual(batch, plan.BatchSize);
        Assert.AreEqual(steps, plan.StepsPerEpoch);
        Assert.AreEqual(epochs, plan.Epochs);
        Assert.AreEqual(1, plan.FreezeEpochs);
        Assert.AreEqual(2e-3, plan.BaseLearningRate);
        Assert.AreEqual(PlanChoices.None, plan.SetByUser);
        Assert.IsTrue(plan.DroppedPerEpoch < Math.Max(2, train / 2), "drop_last never leaves out most of the set");
    }

    [TestMethod]
    public void The_first_log_line_says_what_was_chosen_and_which_options_set_it()
    {
        var lines = Plan(119).Describe().ToList();

        Assert.AreEqual("119 training photos, 3 classes: batch 16, 7 steps an epoch, fine_tune(8) with 1 frozen, lr 2e-3; " +
            "planned for this data; BatchSize/Epochs/FreezeEpochs/BaseLearningRate set them.", lines[0]);
        StringAssert.Contains(lines[1], "at least 7 steps an epoch");
        StringAssert.Contains(lines[1], "as many whole passes as fit in 1200 photos (the larger of 1200 and 200 a class)");
        Assert.IsFalse(lines.Any(l => l.Contains("tiny", StringComparison.Ordinal)), "119 photos is not tiny:\n" + string.Join('\n', lines));
    }

    [TestMethod]
    public void With_many_classes_the_why_line_names_the_larger_photo_budget()
    {
        var lines = Plan(500, classes: 10).Describe().ToList();

        StringAssert.Contains(lines[1], "4 unfrozen epochs: as many whole passes as fit in 2000 photos (the larger of 1200 and 200 a class)");
    }

    [TestMethod]
    public void A_tiny_set_is_called_tiny()
    {
        var plan = Plan(12, valid: 3);

        Assert.IsTrue(plan.IsTiny);
        var lines = string.Join('\n', plan.Describe());
        StringAssert.Contains(lines, "This is a tiny set (4 training photos a class");
        StringAssert.Contains(lines, "Only 3 validation photos");
    }

    [TestMethod]
    public void Fewer_than_two_training_photos_is_a_clear_error()
    {
        var e = Assert.Throws<InvalidDataException>(() => Plan(1));
        StringAssert.Contains(e.Message, "at least 2");
    }

    [TestMethod]
    public void Explicit_options_win_and_the_log_says_they_were_set()
    {
        var plan = Plan(119, user: new UserChoices(BatchSize: 64, Epochs: 1, LearningRateSet: true, BaseLearningRate: null));

        Assert.AreEqual(64, plan.BatchSize);
        Assert.AreEqual(1, plan.StepsPerEpoch);
        Assert.AreEqual(1, plan.Epochs);
        Assert.AreEqual(1, plan.FreezeEpochs, "unset: the plan's");
        Assert.IsNull(plan.BaseLearningRate, "null set by the user: lr_find");
        Assert.AreEqual(PlanChoices.BatchSize | PlanChoices.Epochs | PlanChoices.BaseLearningRate, plan.SetByUser);
        var first = plan.Describe().First();
        StringAssert.Contains(first, "batch 64, 1 steps an epoch, fine_tune(1) with 1 frozen, lr from lr_find");
        StringAssert.Contains(first, "BatchSize/Epochs/BaseLearningRate as set, the rest planned");
        StringAssert.Contains(string.Join('\n', plan.Describe()), "drop_last leaves 55 of the 119");

        var all = Plan(119, user: new UserChoices(8, 3, 0, true, 1e-3));
        Assert.AreEqual((8, 3, 0, (double?)1e-3), (all.BatchSize, all.Epochs, all.FreezeEpochs, all.BaseLearningRate));
        StringAssert.Contains(all.Describe().First(), "all as set in the options");
    }

    [TestMethod]
    public void A_time_budget_keeps_the_epochs_that_fit_and_says_so()
    {
        var plan = Plan(119); // 1 frozen + 8 unfrozen

        var roomy = plan.FitToBudget(TimeSpan.FromMinutes(10), secondsPerEpoch: 60);
        Assert.AreEqual((8, 1), (roomy.Epochs, roomy.FreezeEpochs));
        StringAssert.Contains(roomy.DescribeBudget(), "so the 9 epochs (about 9 min) fit");

        var tight = plan.FitToBudget(TimeSpan.FromMinutes(3), secondsPerEpoch: 60);
        Assert.AreEqual((2, 1), (tight.Epochs, tight.FreezeEpochs), "fewer unfrozen epochs first");
        StringAssert.Contains(tight.DescribeBudget(), "3 of the 9 planned epochs fit, so fine_tune(2) with 1 frozen");

        var tiny = plan.FitToBudget(TimeSpan.FromSeconds(30), secondsPerEpoch: 60);
        Assert.AreEqual((1, 0), (tiny.Epochs, tiny.FreezeEpochs), "never fewer than one epoch");
        StringAssert.Contains(tiny.DescribeBudget(), "longer than the budget: training 1 of the 9 planned epochs, fine_tune(1) with 0 frozen.");

        var progressive = plan.FitToBudget(TimeSpan.FromSeconds(30), secondsPerEpoch: 60, keepFrozen: true);
        Assert.AreEqual((1, 1), (progressive.Epochs, progressive.FreezeEpochs), "progressive resizing keeps its frozen epoch");
    }

    [TestMethod]
    public void The_stored_plan_reads_back_equal_and_a_damaged_one_is_refused()
    {
        var plan = Plan(119, user: new UserChoices(Epochs: 3)).FitToBudget(TimeSpan.FromMinutes(2), 50);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) plan.Write(writer);
        stream.Position = 0;
        Assert.AreEqual(plan, TrainingPlan.Read(new BinaryReader(stream)));

        var bytes = stream.ToArray();
        BitConverter.GetBytes(0).CopyTo(bytes, 12); // batch size 0
        Assert.Throws<InvalidDataException>(() => TrainingPlan.Read(new BinaryReader(new MemoryStream(bytes))));
    }

    [TestMethod]
    public void MaxTrainingTime_must_be_positive()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFineTuningTrainer(new ImageFineTuningOptions { MaxTrainingTime = TimeSpan.Zero }));
        Assert.AreEqual("MaxTrainingTime", e.ParamName);
    }
}
