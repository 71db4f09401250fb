using PetsML.Trainers.Scheduling;

namespace PetsML.Tests.Trainers.Scheduling;

[TestClass]
public sealed class SchedulesTests
{
    [TestMethod]
    public void Building_blocks_follow_their_formulas()
    {
        Assert.AreEqual(1.0, Schedules.Cos(1, 3, 0), 1e-15);
        Assert.AreEqual(3.0, Schedules.Cos(1, 3, 1), 1e-15);
        Assert.AreEqual(2.0, Schedules.Cos(1, 3, 0.5), 1e-15);
        Assert.AreEqual(1 + (1 + Math.Cos(Math.PI * 0.7)) * 2 / 2, Schedules.SchedCos(1, 3)(0.3), 1e-15);
        Assert.AreEqual(1.6, Schedules.SchedLin(1, 3)(0.3), 1e-15);
        Assert.AreEqual(1e-7 * Math.Pow(1e8, 0.25), Schedules.SchedExp(1e-7, 10)(0.25), 1e-18);
        Assert.AreEqual(4.0, Schedules.SchedNo(4)(0.9));
    }

    [TestMethod]
    public void Combine_scheds_starts_the_next_segment_exactly_on_a_boundary()
    {
        var s = Schedules.CombineScheds([0.25, 0.75], [Schedules.SchedLin(0, 1), Schedules.SchedLin(10, 20)]);
        Assert.AreEqual(0.0, s(0));
        Assert.AreEqual(0.5, s(0.125), 1e-15);
        Assert.AreEqual(10.0, s(0.25), 1e-15, "at the boundary the second segment starts at t = 0");
        Assert.IsTrue(s(Math.BitDecrement(0.25)) < 1.0 + 1e-12 && s(Math.BitDecrement(0.25)) > 0.99);
        Assert.AreEqual(15.0, s(0.625), 1e-12);
        Assert.AreEqual(20.0, s(1.0), 1e-12, "pos 1 stays in the last segment");
        Assert.ThrowsExactly<ArgumentException>(() => Schedules.CombineScheds([0.5, 0.4], [Schedules.SchedNo(1), Schedules.SchedNo(2)]));
    }

    [TestMethod]
    public void One_cycle_lr_and_mom_at_chosen_positions()
    {
        double[] peaks = [1e-4, 1e-3];
        var sched = ParamScheduler.OneCycle(peaks, div: 25, divFinal: 1e5, pctStart: 0.25, moms: (0.95, 0.85, 0.95));
        for (int g = 0; g < peaks.Length; g++)
        {
            double l = peaks[g];
            double Lr(double pos) => sched.ValuesAt(pos)["lr"][g];
            Assert.AreEqual(l / 25, Lr(0), l * 1e-12);
            // Half way up: cos(π/2) = 0, so the middle of start and peak.
            Assert.AreEqual((l / 25 + l) / 2, Lr(0.125), l * 1e-12);
            Assert.AreEqual(l, Lr(0.25), l * 1e-12, "the peak is reached exactly at pct_start");
            Assert.AreEqual((l + l / 1e5) / 2, Lr(0.625), l * 1e-12);
            // Last batch of 2 epochs × 10 batches: pos = 19/20, t = (0.95 − 0.25)/0.75.
            double t = (0.95 - 0.25) / 0.75;
            Assert.AreEqual(l + (1 + Math.Cos(Math.PI * (1 - t))) * (l / 1e5 - l) / 2, Lr(0.95), l * 1e-12);
        }
        double Mom(double pos) => sched.ValuesAt(pos)["mom"][0];
        Assert.AreEqual(0.95, Mom(0), 1e-15);
        Assert.AreEqual(0.90, Mom(0.125), 1e-15);
        Assert.AreEqual(0.85, Mom(0.25), 1e-15);
        Assert.AreEqual(0.90, Mom(0.625), 1e-15);
    }

    [TestMethod]
    public void Fine_tune_phase_one_with_92_batches_never_anneals()
    {
        // fine_tune's frozen phase: fit_one_cycle(1, slice(2e-3), pct_start=0.99), div 25.
        var sched = ParamScheduler.OneCycle(LearningRate.Slice(2e-3).ForGroups(3), 25, 1e5, 0.99, (0.95, 0.85, 0.95));
        double Head(int k) => sched.ValuesAt(k / 92.0)["lr"][2];
        Assert.AreEqual(8e-5, Head(0), 1e-18);
        Assert.AreEqual(8e-6, sched.ValuesAt(0)["lr"][0], 1e-19);
        // k = 45: t = (45/92)/0.99; cos warm-up from 8e-5 to 2e-3.
        double t45 = 45.0 / 92 / 0.99;
        Assert.AreEqual(8e-5 + (1 + Math.Cos(Math.PI * (1 - t45))) * (2e-3 - 8e-5) / 2, Head(45), 1e-15);
        Assert.AreEqual(1.0e-3, Head(45), 0.05e-3, "≈1.0e-3 half way");
        Assert.AreEqual(2.0e-3, Head(91), 0.01e-3, "≈2.0e-3 at the last batch");
        for (int k = 1; k < 92; k++)
        {
            Assert.IsTrue(Head(k) > Head(k - 1), $"lr still rising at k={k}");
            Assert.IsTrue(sched.ValuesAt(k / 92.0)["mom"][0] < sched.ValuesAt((k - 1) / 92.0)["mom"][0], $"mom still falling at k={k}");
        }
        Assert.IsTrue(Head(91) <= 2e-3);
    }
}
