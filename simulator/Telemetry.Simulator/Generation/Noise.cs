namespace Telemetry.Simulator.Generation;

/// <summary>Random helpers over <see cref="Random"/>; every stream is seeded, so every draw is reproducible.</summary>
internal static class Noise
{
    /// <summary>A normal draw (Box–Muller).</summary>
    public static double Gaussian(this Random rng, double sigma)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return sigma * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public static double Uniform(this Random rng, double min, double max) => min + ((max - min) * rng.NextDouble());

    /// <summary>A stable seed for one named stream: string.GetHashCode is randomised per process, so FNV-1a it is.</summary>
    public static int Derive(int seed, string name)
    {
        var h = 2166136261u;
        foreach (var b in BitConverter.GetBytes(seed))
        {
            h = (h ^ b) * 16777619u;
        }
        foreach (var c in name)
        {
            h = (h ^ (uint)(c & 0xFF)) * 16777619u;
            h = (h ^ (uint)(c >> 8)) * 16777619u;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}

/// <summary>
/// Slow sensor drift as an Ornstein–Uhlenbeck walk: it wanders but is pulled back, so a long run does not
/// drift off to implausible values.
/// </summary>
internal struct Drift(double sigma, double pull)
{
    private double _value;

    public double Next(Random rng)
    {
        _value += rng.Gaussian(sigma) - (pull * _value);
        return _value;
    }
}
