using Telemetry.Alerting.Engine;

namespace Telemetry.Alerting.Tests.Engine;

public sealed class AverageWindowTests
{
    private const long Hold = 10 * 60_000;

    [Theory]
    [InlineData(15, 1_000)]
    [InlineData(15, 7_000)]
    [InlineData(15, 10_000)]
    [InlineData(15, 45_000)]
    [InlineData(480, 10_000)]
    [InlineData(480, 130_000)]
    public void Mean_OfASteadyExposure_IsExactlyIt_WhereverTheWindowEnds(int windowMinutes, long everyMs)
    {
        // A sensor reading 120 ppm all along: the average is 120 at every reading once the window is full, whether or
        // not the reading falls on a bucket's edge (15 s buckets for 15 minutes, 8 min for 8 hours).
        var window = AverageWindow.For(TimeSpan.FromMinutes(windowMinutes));
        var full = windowMinutes * 60_000L;
        for (var t = 0L; t <= full * 3 / 2; t += everyMs)
        {
            window.Add(t, 120, Hold);
            if (t >= full)
            {
                Assert.Equal(120, window.Mean(t, Hold), 9);
                // and on a tick between readings, the newest held meanwhile
                Assert.Equal(120, window.Mean(t + everyMs / 2, Hold), 9);
            }
        }
    }

    [Fact]
    public void Mean_OfAVaryingExposure_IsTheTimeWeightedAverageWithinOneBucketsDetail()
    {
        // Against the exact Σ cᵢ·tᵢ / T of the samples themselves, over two hours of a 15-minute window: only the bucket
        // the window's start cuts is approximated (its exposure taken as evenly spread), so the error is at most one
        // bucket's worth of the highest value: 200 ppm · 15 s / 15 min.
        var window = AverageWindow.For(TimeSpan.FromMinutes(15));
        var samples = new List<(long T, double V)>();
        var random = new Random(7);
        for (var t = 0L; t <= 2 * 3_600_000; t += 1_000 + random.Next(9_000))
        {
            var v = random.Next(0, 2001) / 10.0;
            window.Add(t, v, Hold);
            samples.Add((t, v));
            Assert.InRange(window.Mean(t, Hold) - Exact(samples, t, 15 * 60_000), -200.0 * 15 / 900, 200.0 * 15 / 900);
        }
    }

    private static double Exact(List<(long T, double V)> samples, long at, long windowMs)
    {
        var start = at - windowMs;
        double sum = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            var end = Math.Min(i + 1 < samples.Count ? samples[i + 1].T : at, samples[i].T + Hold);
            var from = Math.Max(samples[i].T, start);
            var to = Math.Min(end, at);
            if (to > from)
            {
                sum += samples[i].V * (to - from);
            }
        }
        return sum / windowMs;
    }
}
