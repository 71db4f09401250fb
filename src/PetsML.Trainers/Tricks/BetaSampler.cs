namespace PetsML.Trainers.Tricks;

/// <summary>
/// Beta(α, α) draws from a seeded <see cref="Random"/>, as the ratio of two Gamma(α) draws (Marsaglia and Tsang's method;
/// for α &lt; 1 a Gamma(α + 1) draw times U^(1/α)). MixUp and CutMix draw their mixing weights from it.
/// </summary>
internal static class BetaSampler
{
    public static double Beta(Random random, double alpha)
    {
        double x = Gamma(random, alpha), y = Gamma(random, alpha);
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    static double Gamma(Random random, double shape)
    {
        if (shape < 1) return Gamma(random, shape + 1) * Math.Pow(1 - random.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = 1 - random.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    static double Normal(Random random)
    {
        // Box–Muller; 1 − NextDouble lies in (0, 1], so the logarithm is finite.
        double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
