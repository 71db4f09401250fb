using PetsML.Transforms.Presizing;

namespace PetsML.Tests.Transforms.Presizing;

[TestClass]
public sealed class PresizeGeometryTests
{
    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.25)]
    [DataRow(0.5)]
    [DataRow(0.73)]
    [DataRow(1.0)]
    public void Crop_LandscapeBook500x375_CutsTheFullHeightSquare(double pct)
    {
        // m = min(500/460, 375/460) = 375/460, so the box is int(m·460) = 375 square at x = int(pct·(500 − 375)).
        PresizeBox box = PresizeGeometry.Compute(500, 375, 460, 460, PresizeMethod.Crop, pct, 0.9);
        Assert.AreEqual(new PresizeBox((int)(pct * 125), 0, 375, 375), box);
    }

    [TestMethod]
    public void Crop_Validation_IsCentred()
    {
        Assert.AreEqual(new PresizeBox(62, 0, 375, 375),
            PresizeGeometry.Compute(500, 375, 460, 460, PresizeMethod.Crop, PresizeGeometry.ValidationPct, PresizeGeometry.ValidationPct));
        Assert.AreEqual(new PresizeBox(0, 62, 375, 375),
            PresizeGeometry.Compute(375, 500, 460, 460, PresizeMethod.Crop, PresizeGeometry.ValidationPct, PresizeGeometry.ValidationPct));
    }

    [TestMethod]
    public void Crop_NonSquareTarget_KeepsTheTargetAspect()
    {
        // 1203×917 to 224 wide × 160 high: m = min(1203/224, 917/160) = 5.3705…, box int(m·224) × int(m·160).
        double m = Math.Min(1203.0 / 224, 917.0 / 160);
        var box = PresizeGeometry.Compute(1203, 917, 224, 160, PresizeMethod.Crop, 0.1, 0.6);
        Assert.AreEqual(new PresizeBox((int)(0.1 * (1203 - (int)(m * 224))), (int)(0.6 * (917 - (int)(m * 160))), (int)(m * 224), (int)(m * 160)), box);
    }

    [TestMethod]
    public void Pad_UsesTheLargerRatio_AndTruncatesNegativeOffsetsTowardZero()
    {
        // m = max(500/460, 375/460): box 500×500; y = int(pct·(375 − 500)) truncates toward zero like Python's int.
        Assert.AreEqual(new PresizeBox(0, -62, 500, 500), PresizeGeometry.Compute(500, 375, 460, 460, PresizeMethod.Pad, 0.5, 0.5));
        Assert.AreEqual(new PresizeBox(0, 0, 500, 500), PresizeGeometry.Compute(500, 375, 460, 460, PresizeMethod.Pad, 0.0, 0.0));
        Assert.AreEqual(new PresizeBox(0, -125, 500, 500), PresizeGeometry.Compute(500, 375, 460, 460, PresizeMethod.Pad, 1.0, 1.0));
        Assert.AreEqual(new PresizeBox(-4, 0, 500, 500), PresizeGeometry.Compute(375, 500, 460, 460, PresizeMethod.Pad, 0.037, 0.5));
    }

    [TestMethod]
    public void Squish_TakesTheWholeImage()
    {
        Assert.AreEqual(new PresizeBox(0, 0, 500, 414), PresizeGeometry.Compute(500, 414, 460, 460, PresizeMethod.Squish, 0.3, 0.8));
    }

    [TestMethod]
    [DataRow(-0.01)]
    [DataRow(1.01)]
    [DataRow(double.NaN)]
    public void PctOutsideUnitInterval_IsRejected(double pct)
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => PresizeGeometry.Compute(500, 375, 460, 460, PresizeMethod.Crop, pct, 0.5));
        Assert.AreEqual("pctX", e.ParamName);
    }

    [TestMethod]
    public void Options_HaveFastaiDefaults_AndRejectNonPositiveSizes()
    {
        var options = new PresizeOptions();
        Assert.AreEqual(460, options.Size);
        Assert.AreEqual(PresizeMethod.Crop, options.Method);
        Assert.AreEqual(PadMode.Reflection, options.PadMode);
        Assert.AreEqual(3 * 460 * 460, options.OutputLength);
        // Checked where they are used (PetsML's options style), naming the option.
        options.Size = 0;
        Assert.AreEqual("Size", Assert.ThrowsExactly<ArgumentOutOfRangeException>(options.Validate).ParamName);
        options.Size = 460;
        options.Width = -1;
        Assert.AreEqual("Width", Assert.ThrowsExactly<ArgumentOutOfRangeException>(options.Validate).ParamName);
        options.Width = null;
        options.Height = 100;
        Assert.AreEqual(460, options.TargetWidth);
        Assert.AreEqual(100, options.TargetHeight);
    }
}
