using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Alerting.State;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Benchmarks;

/// <summary>
/// The alert state's JSON after a storm (200 gas sensors, 20,000 readings of the harness's random CO): a journal
/// record of one rule change per sensor (what a storm batch writes before it is dispatched: with every episode the rule
/// keeps, as the first record after a start, and with the newest only, as the later ones) and the whole snapshot, with
/// the build-time generated serializer against the reflection-based one it replaced.
/// </summary>
public class StateJsonBenchmarks
{
    private const int Sensors = 200;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);
    private JournalRecord _record = null!;
    private JournalRecord _newest = null!;
    private AlertEngineState _state = null!;

    [GlobalSetup]
    public void Setup()
    {
        var engine = AlertEngine.Create(new AlertRules(), SensorRegistry.Empty, TimeProvider.System, TimeSpan.FromDays(1));
        var random = new Random(42);
        var events = new List<AlertEvent>();
        var ts = Payloads.ReceivedAtMs - 3_600_000;
        for (var i = 0; i < 100 * Sensors; i++)
        {
            var r = new Reading { TimestampMs = ts += 5 };
            r.Set(Field.CoPpm, Math.Round(random.NextDouble() * 50, 1));
            r.Set(Field.O2Pct, 20.9);
            engine.Evaluate(new SensorAddress("kukes", "t01", SensorKind.Gas, $"gas-{i % Sensors:D4}"), [r], events);
        }
        _state = engine.State;
        _record = Record();
        // What the service journals once earlier records hold the rest: each rule's one new episode and the one before.
        foreach (var s in _state.Sensors)
        {
            var rule = s.Rules["co-instant"];
            rule.EpisodesJournaled = rule.EpisodesAdded - 1;
        }
        _newest = Record();
    }

    private JournalRecord Record() => new()
    {
        Seq = 1,
        Changes = _state.Sensors.Select(s => new JournalChange
        {
            Site = s.Site, Tunnel = s.Tunnel, Kind = s.Kind, Sensor = s.Sensor, NewestMs = s.NewestMs, LastSeenMs = s.LastSeenMs,
            Rule = "co-instant", State = s.Rules["co-instant"].ForJournal(),
        }).ToList(),
    };

    [Benchmark(Description = "journal record, 200 changes: generated")]
    public long JournalGenerated() => Write(_record, StateJson.Options);

    [Benchmark(Description = "journal record, 200 changes, newest episodes: generated")]
    public long JournalNewestGenerated() => Write(_newest, StateJson.Options);

    [Benchmark(Description = "journal record, 200 changes: reflection")]
    public long JournalReflection() => Write(_record, StateJson.Reflection);

    [Benchmark(Description = "snapshot, 200 sensors: generated")]
    public long SnapshotGenerated() => Write(_state, StateJson.Options);

    [Benchmark(Description = "snapshot, 200 sensors: reflection")]
    public long SnapshotReflection() => Write(_state, StateJson.Reflection);

    private long Write<T>(T value, JsonSerializerOptions options)
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        JsonSerializer.Serialize(writer, value, options);
        writer.Flush();
        return _buffer.WrittenCount;
    }
}
