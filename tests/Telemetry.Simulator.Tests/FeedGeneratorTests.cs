using Telemetry.Contracts;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Recording;

namespace Telemetry.Simulator.Tests;

public sealed class FeedGeneratorTests
{
    private static byte[] Record(string scenario, int seed, TimeSpan duration)
    {
        using var stream = new MemoryStream();
        FeedFile.Write(stream, TestFeeds.Generate(scenario, duration, seed));
        return stream.ToArray();
    }

    [Theory]
    [InlineData("kukes-baseline")]
    [InlineData("malformed-payloads")]
    [InlineData("sensor-faults")]
    public void Record_SameScenarioAndSeed_IsByteIdentical(string scenario) =>
        Assert.Equal(Record(scenario, 42, TimeSpan.FromMinutes(3)), Record(scenario, 42, TimeSpan.FromMinutes(3)));

    [Fact]
    public void Record_DifferentSeed_GivesADifferentFeed() =>
        Assert.NotEqual(Record("kukes-baseline", 1, TimeSpan.FromMinutes(2)), Record("kukes-baseline", 2, TimeSpan.FromMinutes(2)));

    [Fact]
    public void Generate_IsInOffsetOrder_WithinTheDuration_AndEverySensorCountsUp()
    {
        var feed = TestFeeds.Generate("kukes-baseline", TimeSpan.FromMinutes(15));
        Assert.Equal(feed.OrderBy(m => m.OffsetMs).Select(m => m.OffsetMs), feed.Select(m => m.OffsetMs));
        Assert.All(feed, m => Assert.InRange(m.OffsetMs, 0, (long)TimeSpan.FromMinutes(15).TotalMilliseconds - 1));
        var start = TestFeeds.Load("kukes-baseline").Start;
        foreach (var sensor in feed.GroupBy(m => m.Topic))
        {
            var seqs = sensor.SelectMany(m => TestFeeds.Decode(m, start).Readings).Select(r => r.Seq!.Value).ToList();
            Assert.Equal(Enumerable.Range(0, seqs.Count).Select(i => (long)i), seqs);
        }
        // 200 sensors all report within the slowest interval (5 min strain).
        Assert.Equal(TestFeeds.Load("kukes-baseline").Sensors.Count, feed.Select(m => m.Topic).Distinct().Count());
    }

    [Fact]
    public void Generate_Baseline_EveryReadingIsAcceptedAndPlausible()
    {
        var scenario = TestFeeds.Load("kukes-baseline");
        var feed = TestFeeds.Generate(scenario, TimeSpan.FromMinutes(30));
        var decoded = feed.Select(m => TestFeeds.Decode(m, scenario.Start)).ToList();
        Assert.All(decoded, d => Assert.Empty(d.Rejections));
        Assert.All(decoded, d => Assert.Single(d.Readings));

        var deep = scenario.Sensors.Where(s => s.Tunnel.OutsideWeight(s.ChainageM) < 0.01).Select(s => s.Id).ToHashSet();
        foreach (var d in decoded)
        {
            var r = d.Readings[0];
            var isDeep = deep.Contains(d.Address!.Sensor) && scenario.Tunnels.Count(t => t.Id == d.Address.Tunnel) == 1;
            switch (d.Address.Kind)
            {
                case SensorKind.Humidity:
                    Assert.InRange(r.Get(Field.RhPct)!.Value, 40, 100);
                    Assert.InRange(r.Get(Field.TempC)!.Value, -5, 25);
                    if (isDeep)
                    {
                        Assert.InRange(r.Get(Field.RhPct)!.Value, 90, 100);
                        Assert.InRange(r.Get(Field.TempC)!.Value, 10, 14);
                    }
                    break;
                case SensorKind.Gas:
                    Assert.InRange(r.Get(Field.O2Pct)!.Value, 20.6, 21.2);
                    Assert.InRange(r.Get(Field.Co2Ppm)!.Value, 300, 1700);
                    Assert.InRange(r.Get(Field.CoPpm)!.Value, 0, 3);
                    Assert.InRange(r.Get(Field.Ch4LelPct)!.Value, 0, 2);
                    Assert.InRange(r.Get(Field.H2sPpm)!.Value, 0, 0.2);
                    Assert.InRange(r.Get(Field.No2Ppm)!.Value, 0, 0.1);
                    break;
                default:
                    Assert.InRange(r.Get(Field.Microstrain)!.Value, -700, 500);
                    Assert.InRange(r.Get(Field.TempC)!.Value, 0, 20);
                    break;
            }
            Assert.InRange(r.Get(Field.BatteryV)!.Value, 3.0, 3.7);
            Assert.InRange(r.Get(Field.RssiDbm)!.Value, -120, -30);
        }
    }

    [Fact]
    public void Generate_StrainGauge_ReadsItsTemperatureAsAFewMicrostrainPerDegree()
    {
        // Near a portal the gauge temperature swings with the day; deep inside it barely moves.
        var scenario = TestFeeds.Load("kukes-baseline");
        var gauge = scenario.Sensors.First(s => s.Kind == SensorKind.Strain && s.Tunnel.OutsideWeight(s.ChainageM) > 0.3);
        var readings = TestFeeds.ReadingsOf(TestFeeds.Generate(scenario, TimeSpan.FromHours(12)), scenario.Start, gauge.Id)
            .Select(x => x.Reading).ToList();
        var temps = readings.Select(r => r.Get(Field.TempC)!.Value).ToArray();
        var strains = readings.Select(r => r.Get(Field.Microstrain)!.Value).ToArray();
        var slope = Slope(temps, strains);
        Assert.True(temps.Max() - temps.Min() > 1, "the gauge temperature follows the daily cycle");
        Assert.InRange(slope, gauge.Strain.TempCoefficient - 1, gauge.Strain.TempCoefficient + 1);
    }

    private static double Slope(double[] x, double[] y)
    {
        var mx = x.Average();
        var my = y.Average();
        return x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum() / x.Sum(a => (a - mx) * (a - mx));
    }
}
