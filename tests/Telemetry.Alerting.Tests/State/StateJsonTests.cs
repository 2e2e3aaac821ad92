using System.Text.Json;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Alerting.State;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.State;

/// <summary>
/// The state file and the journal are written by a build-time generated serializer; state written before it (by the
/// reflection-based one) must read the same, and what it writes must be what the old build wrote and reads.
/// </summary>
public sealed class StateJsonTests
{
    private static (AlertEngineState State, List<AlertEvent> Events) Storm()
    {
        var engine = AlertEngine.Create(new AlertRules(), SensorRegistry.Empty, TimeProvider.System, TimeSpan.FromDays(1));
        var events = new List<AlertEvent>();
        var random = new Random(7);
        var ts = 1_790_000_000_000L;
        for (var i = 0; i < 3000; i++)
        {
            ts += 1000;
            var gas = new Reading { TimestampMs = ts };
            gas.Set(Field.CoPpm, Math.Round(random.NextDouble() * 150, 1));
            gas.Set(Field.H2sPpm, Math.Round(random.NextDouble() * 12, 2));
            gas.Set(Field.O2Pct, 18.5 + random.NextDouble() * 5.5);
            gas.Set(Field.Ch4LelPct, random.NextDouble() * 25);
            engine.Evaluate(new SensorAddress("kukes", "t03", SensorKind.Gas, $"gas-{i % 5}"), [gas], events);
            var rh = new Reading { TimestampMs = ts };
            rh.Set(Field.RhPct, 80 + random.NextDouble() * 20);
            rh.Set(Field.TempC, 12.5);
            engine.Evaluate(new SensorAddress("kukes", "t03", SensorKind.Humidity, "hum-1"), [rh], events);
            var strain = new Reading { TimestampMs = ts };
            strain.Set(Field.Microstrain, -1600 + i);
            engine.Evaluate(new SensorAddress("kukes", "t03", SensorKind.Strain, "sg-1"), [strain], events);
        }
        var active = engine.ActiveAlerts();
        Assert.NotEmpty(active);
        Assert.Equal(AckResult.Acknowledged, engine.Acknowledge(active[0].AlertId, "Ana", "checked \"in person\" — ok", events));
        return (engine.State, events);
    }

    [Fact]
    public void StateAndJournal_AreWrittenByteForByteAsTheReflectionSerializerWroteThem_AndReadBack()
    {
        var (engine, events) = Storm();
        Assert.Contains(engine.Sensors, s => s.Rules.Values.Any(r => r.Average is not null));
        Assert.Contains(engine.Sensors, s => s.Rules.Values.Any(r => r.Rate is not null));
        Assert.Contains(engine.Sensors, s => s.Rules.Values.Any(r => r.AckBy is not null && r.Episodes.Count > 1));
        var state = new PersistedState
        {
            Engine = engine,
            JournalSeq = 42,
            Silences =
            [
                new Silence
                {
                    Id = "s1", Tunnel = "t03", StartsAt = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000),
                    EndsAt = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_360_000), CreatedBy = "Ana", Comment = null,
                },
            ],
        };
        var record = new JournalRecord
        {
            Seq = 43,
            Changes = events.Select(e => engine.Sensors.First(s => s.Sensor == e.Sensor)).Distinct().Select(s => new JournalChange
            {
                Site = s.Site, Tunnel = s.Tunnel, Kind = s.Kind, Sensor = s.Sensor, NewestMs = s.NewestMs, LastSeenMs = s.LastSeenMs,
                Rule = s.Rules.Keys.First(), State = s.Rules.Values.First().ForJournal(),
            }).Append(new JournalChange { Site = "kukes", Tunnel = "t03", Kind = "gas", Sensor = "gone", Rule = "co-instant", State = null }).ToList(),
        };

        AssertSameJson(state);
        AssertSameJson(record);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64 * 1024)]
    public void Snapshot_WrittenAFewSensorsAtATime_IsTheSameFileAsTheWholeState(int chunkBytes)
    {
        // The snapshot is written beside the engine, a few sensors per turn of its lock; the file must not differ.
        var (engine, _) = Storm();
        var silences = new List<Silence>
        {
            new() { Id = "s1", Sensor = "gas-1", StartsAt = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000), EndsAt = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_360_000), CreatedBy = "Ana" },
        };
        using var dir = new TempDir("state-chunks");
        var path = dir.Combine("state.json");
        StateFile.Save(path, engine, new Lock(), silences, journalSeq: 42, chunkBytes);

        var whole = JsonSerializer.SerializeToUtf8Bytes(new PersistedState { Engine = engine, Silences = silences, JournalSeq = 42 }, StateJson.Options);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(whole), File.ReadAllText(path));
        Assert.Equal(42, StateFile.Load(path)!.JournalSeq);
    }

    [Fact]
    public void WindowBuckets_AreTheSameTextAsTheSerializersOwn_AndReadBackBitForBit()
    {
        // Whole numbers are written as integers for speed; the text must not change, or state files would.
        var random = new Random(11);
        List<double> values =
        [
            0, -0.0, 1, -1, 480000, 1_795_943_520_000, 3030684.0000000005, 2428466.6999999997, 0.1, -1600.25, 1e-7,
            999_999_999_999_999, 1e15, -1e15, 1e16, 123_456_789_012_345_678, double.MaxValue, double.MinValue, double.Epsilon,
            .. Enumerable.Range(0, 2000).Select(i => i % 4 switch
            {
                0 => Math.Round(random.NextDouble() * 1e13),
                1 => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-5, 18)),
                2 => -Math.Round(random.NextDouble() * 1e9),
                _ => random.NextDouble() * 50 * 60_000,
            }),
        ];
        var window = new AverageWindow { WindowMs = 1, BucketMs = 1, Buckets = values };
        var written = JsonSerializer.Serialize(window, StateJson.Options);
        Assert.Equal(JsonSerializer.Serialize(values), JsonDocument.Parse(written).RootElement.GetProperty("k").GetRawText());
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), JsonSerializer.Deserialize<AverageWindow>(written, StateJson.Options)!.Buckets.Select(BitConverter.DoubleToInt64Bits));
    }

    private static void AssertSameJson<T>(T value)
    {
        var old = JsonSerializer.SerializeToUtf8Bytes(value, StateJson.Reflection);
        var generated = JsonSerializer.SerializeToUtf8Bytes(value, StateJson.Options);
        Assert.Equal(System.Text.Encoding.UTF8.GetString(old), System.Text.Encoding.UTF8.GetString(generated));
        // What the old build wrote, read by this one, is written again unchanged (nothing lost or renamed on the way).
        var read = JsonSerializer.Deserialize<T>(old, StateJson.Options);
        Assert.Equal(old, JsonSerializer.SerializeToUtf8Bytes(read, StateJson.Options));
        // And what this one writes, the old one reads.
        Assert.Equal(generated, JsonSerializer.SerializeToUtf8Bytes(JsonSerializer.Deserialize<T>(generated, StateJson.Reflection), StateJson.Reflection));
    }
}
