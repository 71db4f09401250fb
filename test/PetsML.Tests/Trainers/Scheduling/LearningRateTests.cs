using PetsML.Trainers.Scheduling;

namespace PetsML.Tests.Trainers.Scheduling;

[TestClass]
public sealed class LearningRateTests
{
    private static void AreClose(double[] expected, double[] actual)
    {
        Assert.AreEqual(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], Math.Abs(expected[i]) * 1e-12, $"group {i}");
    }

    [TestMethod]
    public void A_single_value_goes_to_every_group()
    {
        AreClose([3e-3, 3e-3, 3e-3], LearningRate.Single(3e-3).ForGroups(3));
        AreClose([3e-3, 3e-3, 3e-3], ((LearningRate)3e-3).ForGroups(3));
    }

    [TestMethod]
    public void Slice_of_stop_gives_a_tenth_to_all_but_the_last_group()
    {
        AreClose([2e-4, 2e-4, 2e-3], LearningRate.Slice(2e-3).ForGroups(3));
        AreClose([1e-3], LearningRate.Slice(1e-3).ForGroups(1));
    }

    [TestMethod]
    public void Slice_of_start_and_stop_is_geometric_over_the_groups()
    {
        AreClose([1e-6, 1e-5, 1e-4], LearningRate.Slice(1e-6, 1e-4).ForGroups(3));
        AreClose([1e-5, 1e-4, 1e-3], LearningRate.Slice(1e-5, 1e-3).ForGroups(3));
        // 4 groups: ratio (stop/start)^(1/3) = 10 for slice(1e-6, 1e-3).
        AreClose([1e-6, 1e-5, 1e-4, 1e-3], LearningRate.Slice(1e-6, 1e-3).ForGroups(4));
        // slice(lr) is not slice(lr, lr).
        AreClose([1e-3, 1e-3, 1e-3], LearningRate.Slice(1e-3, 1e-3).ForGroups(3));
    }

    [TestMethod]
    public void An_explicit_array_must_match_the_group_count()
    {
        AreClose([1, 2, 3], LearningRate.PerGroup(1, 2, 3).ForGroups(3));
        var e = Assert.ThrowsExactly<ArgumentException>(() => LearningRate.PerGroup(1, 2).ForGroups(3));
        StringAssert.Contains(e.Message, "3 parameter groups");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LearningRate.Single(-1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LearningRate.Slice(double.NaN));
    }
}
