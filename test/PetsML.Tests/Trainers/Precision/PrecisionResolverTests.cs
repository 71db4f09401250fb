using PetsML.Tests.Trainers.Training;
using PetsML.Trainers.Training;
using static TorchSharp.torch;

namespace PetsML.Tests.Trainers.Precision;

[TestClass]
public sealed class PrecisionResolverTests
{
    private static string WriteCpuInfo(string flags)
    {
        var path = Path.Combine(Path.GetTempPath(), $"petsml-cpuinfo-{Guid.NewGuid():N}");
        File.WriteAllText(path, $"processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: {flags}\nbogomips\t: 4800.00\n\n" +
                                $"processor\t: 1\nflags\t\t: {flags}\n");
        return path;
    }

    [TestMethod]
    public void Auto_is_fp32_without_bf16_flags_and_bf16_mixed_with_them()
    {
        var without = WriteCpuInfo("fpu sse2 avx2 avx512f avx512bw avx512_vnni");
        var withAvx = WriteCpuInfo("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni");
        var withAmx = WriteCpuInfo("fpu sse2 amx_tile amx_bf16");
        try
        {
            Assert.AreEqual(TrainingPrecision.Fp32, PrecisionResolver.Resolve(TrainingPrecision.Auto, CPU, new HardwareBf16Support(without)));
            Assert.AreEqual(TrainingPrecision.Bf16Mixed, PrecisionResolver.Resolve(TrainingPrecision.Auto, CPU, new HardwareBf16Support(withAvx)));
            Assert.AreEqual(TrainingPrecision.Bf16Mixed, PrecisionResolver.Resolve(TrainingPrecision.Auto, CPU, new HardwareBf16Support(withAmx)));
            // A file that does not exist (no /proc) means no support.
            Assert.AreEqual(TrainingPrecision.Fp32, PrecisionResolver.Resolve(TrainingPrecision.Auto, CPU, new HardwareBf16Support(without + ".missing")));
            // An explicit choice is kept whatever the hardware.
            Assert.AreEqual(TrainingPrecision.Bf16Mixed, PrecisionResolver.Resolve(TrainingPrecision.Bf16Mixed, CPU, new HardwareBf16Support(without)));
            Assert.AreEqual(TrainingPrecision.Fp32, PrecisionResolver.Resolve(TrainingPrecision.Fp32, CPU, new HardwareBf16Support(withAvx)));
        }
        finally
        {
            File.Delete(without);
            File.Delete(withAvx);
            File.Delete(withAmx);
        }
    }

    [TestMethod]
    [DataRow("fpu sse2 avx2", DisplayName = "a CPU without bf16")]
    [DataRow("fpu sse2 avx2 avx512f avx512_bf16", DisplayName = "a bf16 CPU")]
    public void A_learner_asked_for_auto_trains_a_model_without_a_bf16_copy_in_fp32(string cpuFlags)
    {
        var cpuInfo = WriteCpuInfo(cpuFlags);
        using var model = new TinyCnn(1);
        var (train, _, owned) = TinyCnn.MakeSequences(trainItems: 32, validItems: 16, batchSize: 16);
        try
        {
            // TinyCnn has no bf16 working copy (it is not an IReplicableModule): Auto must not pick bf16-mixed for it,
            // even on a CPU that computes bf16; an explicit bf16-mixed is refused.
            using var learner = new Learner(model, model.Groups(), train, options: new LearnerOptions
            {
                Compute = { Device = "cpu", Precision = TrainingPrecision.Auto }, Bf16Support = new HardwareBf16Support(cpuInfo),
            });
            Assert.AreEqual(TrainingPrecision.Fp32, learner.Precision);
            Assert.AreEqual(TrainingPrecision.Auto, learner.Options.Compute.Precision);
            Assert.ThrowsExactly<NotSupportedException>(() => new Learner(model, model.Groups(), train,
                options: new LearnerOptions { Compute = { Device = "cpu", Precision = TrainingPrecision.Bf16Mixed } }));
        }
        finally
        {
            File.Delete(cpuInfo);
            foreach (var t in owned) t.Dispose();
        }
    }

    [TestMethod]
    public void Precision_names_parse_and_print_as_on_the_command_line()
    {
        foreach (var p in Enum.GetValues<TrainingPrecision>())
            Assert.AreEqual(p, PrecisionResolver.Parse(PrecisionResolver.ToDisplayName(p)));
        Assert.AreEqual(TrainingPrecision.Bf16Mixed, PrecisionResolver.Parse(" BF16-Mixed "));
        var e = Assert.ThrowsExactly<ArgumentException>(() => PrecisionResolver.Parse("fp16"));
        StringAssert.Contains(e.Message, "bf16-mixed");
    }
}
