using Telemetry.Contracts;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Tests;

public sealed class IncidentTests
{
    private static (Scenario Scenario, List<FeedMessage> Feed) Run(string name, TimeSpan duration)
    {
        var scenario = TestFeeds.Load(name);
        return (scenario, TestFeeds.Generate(scenario, duration));
    }

    private static List<(long OffsetMs, double Value)> Series(string name, TimeSpan duration, string sensor, Field field)
    {
        var (scenario, feed) = Run(name, duration);
        return TestFeeds.ReadingsOf(feed, scenario.Start, sensor).Select(x => (x.OffsetMs, x.Reading.Get(field)!.Value)).ToList();
    }

    [Fact]
    public void MethaneLeak_CrossesTenThenTwentyInTheLeakSection_StaysLowerInNeighbours_ThenClears()
    {
        var leak = Series("methane-leak", TimeSpan.FromMinutes(5), "gas-0002", Field.Ch4LelPct);
        var firstAmber = leak.FindIndex(x => x.Value > 10);
        var firstRed = leak.FindIndex(x => x.Value > 20);
        Assert.True(firstAmber > 0 && firstRed > firstAmber, "ch4 crosses 10 % LEL before 20 % LEL");
        Assert.True(leak[..firstAmber].All(x => x.Value < 10), "starts at background");
        // Cleared by the default rule: back below amber minus 5 % hysteresis (9.5) once the plume has dispersed.
        var lastRed = leak.FindLastIndex(x => x.Value > 20);
        Assert.Contains(leak[(lastRed + 1)..], x => x.Value < 9.5);
        Assert.True(leak[^1].Value < 2, "dispersed by the end");

        foreach (var neighbour in new[] { "gas-0001", "gas-0003" })
        {
            var n = Series("methane-leak", TimeSpan.FromMinutes(5), neighbour, Field.Ch4LelPct);
            Assert.True(n.Max(x => x.Value) < 10, $"{neighbour} stays below amber");
            Assert.True(n.Max(x => x.Value) > 1.5, $"{neighbour} sees some of it");
            Assert.True(n.Max(x => x.Value) < leak.Max(x => x.Value));
        }
    }

    [Fact]
    public void OxygenDepletion_FallsBelowNineteenPercent_AndRecovers()
    {
        var o2 = Series("oxygen-depletion", TimeSpan.FromMinutes(8), "gas-0002", Field.O2Pct);
        Assert.True(o2[0].Value > 20.5);
        Assert.InRange(o2.Min(x => x.Value), 17.9, 18.9);
        Assert.True(o2[^1].Value > 20.5);
        var co2 = Series("oxygen-depletion", TimeSpan.FromMinutes(8), "gas-0002", Field.Co2Ppm);
        Assert.True(co2.Max(x => x.Value) > co2[0].Value + 2000, "CO2 rises as oxygen is consumed");
    }

    [Fact]
    public void CoEngine_RaisesCoPastOneHundredPpm_WithNo2()
    {
        var co = Series("co-engine", TimeSpan.FromMinutes(8), "gas-0002", Field.CoPpm);
        Assert.True(co.Max(x => x.Value) > 100);
        Assert.True(co[^1].Value < 5);
        Assert.True(Series("co-engine", TimeSpan.FromMinutes(8), "gas-0002", Field.No2Ppm).Max(x => x.Value) > 1);
        Assert.True(Series("co-engine", TimeSpan.FromMinutes(8), "gas-0001", Field.CoPpm).Max(x => x.Value) < co.Max(x => x.Value));
    }

    [Fact]
    public void WaterIngress_DrivesHumidityToSaturationNearTheSource()
    {
        var near = Series("water-ingress", TimeSpan.FromMinutes(16), "humidity-0002", Field.RhPct);
        Assert.True(near[0].Value < 90);
        Assert.True(near.Max(x => x.Value) > 98);
        var far = Series("water-ingress", TimeSpan.FromMinutes(16), "humidity-0004", Field.RhPct);
        Assert.True(far.Max(x => x.Value) - far[0].Value < near.Max(x => x.Value) - near[0].Value);
    }

    [Fact]
    public void StrainCreepAndCrack_MoveOnlyTheirGauges()
    {
        var duration = TimeSpan.FromMinutes(30);
        var creep = Series("strain-crack", duration, "strain-0002", Field.Microstrain);
        // 600 µε/day for 28 minutes is about 11.7 µε, against ±1 µε of noise.
        Assert.InRange(creep[^1].Value - creep[0].Value, 8, 16);
        var crack = Series("strain-crack", duration, "strain-0003", Field.Microstrain);
        var before = crack.Where(x => x.OffsetMs < 300_000).Select(x => x.Value).ToList();
        var after = crack.Where(x => x.OffsetMs >= 300_000).Select(x => x.Value).ToList();
        Assert.InRange(after.Average() - before.Average(), 340, 360);
        var quiet = Series("strain-crack", duration, "strain-0001", Field.Microstrain);
        Assert.True(quiet.Max(x => x.Value) - quiet.Min(x => x.Value) < 6);
    }

    [Fact]
    public void Dropout_SendsNothingInItsWindow_AndTheSeqGapShowsTheLoss()
    {
        var (scenario, feed) = Run("sensor-faults", TimeSpan.FromMinutes(8));
        var gas1 = TestFeeds.ReadingsOf(feed, scenario.Start, "gas-0001");
        Assert.DoesNotContain(gas1, x => x.OffsetMs >= 120_000 && x.OffsetMs < 240_000);
        Assert.Contains(gas1, x => x.OffsetMs >= 240_000);
        var gap = gas1.Zip(gas1.Skip(1)).Single(p => p.Second.Reading.Seq - p.First.Reading.Seq > 1);
        Assert.Equal(24, gap.Second.Reading.Seq - gap.First.Reading.Seq - 1);
    }

    [Fact]
    public void Stuck_RepeatsOneValueThroughItsWindow()
    {
        var (scenario, feed) = Run("sensor-faults", TimeSpan.FromMinutes(8));
        var hum = TestFeeds.ReadingsOf(feed, scenario.Start, "humidity-0001");
        var stuck = hum.Where(x => x.OffsetMs >= 60_000 && x.OffsetMs < 360_000).ToList();
        Assert.True(stuck.Count >= 19);
        Assert.Single(stuck.Select(x => (x.Reading.Get(Field.RhPct), x.Reading.Get(Field.TempC))).Distinct());
        Assert.Equal(stuck.Count, stuck.Select(x => x.Reading.TimestampMs).Distinct().Count());
        var live = hum.Where(x => x.OffsetMs >= 360_000).Select(x => x.Reading.Get(Field.TempC)).Distinct();
        Assert.True(live.Count() > 1, "values move again after the window");
    }

    [Fact]
    public void Spikes_JumpOneFieldNowAndThen()
    {
        var ch4 = Series("sensor-faults", TimeSpan.FromMinutes(8), "gas-0002", Field.Ch4LelPct);
        var spikes = ch4.Where(x => x.Value > 15).ToList();
        Assert.InRange(spikes.Count, 1, 10);
        Assert.All(spikes, s => Assert.InRange(s.OffsetMs, 60_000, 420_000));
    }

    [Fact]
    public void ClockSkew_StampsReadingsAheadByTheSkew()
    {
        var (scenario, feed) = Run("sensor-faults", TimeSpan.FromMinutes(2));
        var skewed = feed.Where(m => m.Topic.EndsWith("/humidity-0002", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(skewed);
        foreach (var m in skewed)
        {
            var d = TestFeeds.Decode(m, scenario.Start);
            // Ten minutes ahead is beyond the service's five-minute allowance.
            Assert.Equal(RejectionReason.FutureTimestamp, Assert.Single(d.Rejections).Reason);
        }
        var reading = new List<Reading>();
        new PayloadDecoder(DecodeLimits.Default with { MaxFuture = TimeSpan.FromHours(1) })
            .Decode(skewed[0].Payload, SensorKind.Humidity, 0 + scenario.Start.ToUnixTimeMilliseconds() + skewed[0].OffsetMs, reading, []);
        Assert.Equal(scenario.Start.ToUnixTimeMilliseconds() + skewed[0].OffsetMs + 600_000, reading[0].TimestampMs);
    }

    [Fact]
    public void LoggerBacklog_IsOneArrayWithOriginalTimestamps_AfterTheOutage()
    {
        var (scenario, feed) = Run("logger-backlog", TimeSpan.FromMinutes(15));
        var messages = feed.Where(m => m.Topic.EndsWith("/gas-0001", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(messages, m => m.OffsetMs >= 120_000 && m.OffsetMs < 720_000);
        var arrays = messages.Where(m => m.Payload[0] == (byte)'[').ToList();
        var backlog = Assert.Single(arrays);
        var d = TestFeeds.Decode(backlog, scenario.Start);
        Assert.Empty(d.Rejections);
        // Ten minutes at 10 s, plus the reading taken on reconnecting.
        Assert.Equal(61, d.Readings.Count);
        Assert.Equal(d.Readings.OrderBy(r => r.TimestampMs).Select(r => r.Seq), d.Readings.Select(r => r.Seq));
        Assert.All(d.Readings.Zip(d.Readings.Skip(1)), p => Assert.Equal(10_000, p.Second.TimestampMs - p.First.TimestampMs));
        Assert.Equal(scenario.Start.ToUnixTimeMilliseconds() + backlog.OffsetMs, d.Readings[^1].TimestampMs);
        var all = TestFeeds.ReadingsOf(feed, scenario.Start, "gas-0001").Select(x => x.Reading.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range(0, all.Count).Select(i => (long)i), all);
    }

    [Fact]
    public void MalformedPayloads_GiveExactlyTheIntendedRejectionEach()
    {
        var (scenario, feed) = Run("malformed-payloads", TimeSpan.FromMinutes(2));
        var bad = feed.Where(m => m.Expected is not null).ToList();
        Assert.Equal(MalformedIncident.Supported.Count + 1, bad.Count);
        Assert.Equal(MalformedIncident.Supported.ToHashSet(), bad.Select(m => m.Expected!.Value).ToHashSet());
        foreach (var m in bad)
        {
            var d = TestFeeds.Decode(m, scenario.Start);
            var rejection = Assert.Single(d.Rejections);
            Assert.True(m.Expected == rejection.Reason, $"{m.Expected!.Value.Name()} message gave {rejection.Reason.Name()}: {rejection.Detail}");
            if (m.Expected == RejectionReason.OutOfRange)
            {
                Assert.Equal("o2_pct", rejection.Field);
                Assert.True(Assert.Single(d.Readings).Has(Field.Ch4LelPct), "the rest of the reading is kept");
            }
        }
        var malformed = bad.Where(m => m.Expected == RejectionReason.MalformedJson).ToList();
        Assert.Contains(malformed, m => !System.Text.Unicode.Utf8.IsValid(m.Payload));
        Assert.Contains(malformed, m => System.Text.Unicode.Utf8.IsValid(m.Payload));
        Assert.All(feed.Where(m => m.Expected is null), m => Assert.Empty(TestFeeds.Decode(m, scenario.Start).Rejections));
    }

    // The out_of_range message's other values are stored: its reading must not put a number from another count among
    // the sensor's own seq, which counts the sensor's gaps (SPEC §3).
    [Fact]
    public void MalformedPayloads_StoredSeqOfTheSensor_StillCountsUpWithoutGapsOrRepeats()
    {
        var (scenario, feed) = Run("malformed-payloads", TimeSpan.FromMinutes(2));
        var stored = feed.Where(m => m.Topic.EndsWith("/gas/gas-0001", StringComparison.Ordinal))
            .SelectMany(m => TestFeeds.Decode(m, scenario.Start).Readings)
            .OrderBy(r => r.TimestampMs)
            .Where(r => r.Seq is not null)
            .Select(r => r.Seq!.Value).ToList();
        Assert.True(stored.Count > 10, $"{stored.Count} readings");
        Assert.Equal(Enumerable.Range(0, stored.Count).Select(i => (long)i), stored);
    }
}
