using BenchmarkDotNet.Attributes;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Benchmarks;

/// <summary>
/// Alert evaluation (SPEC §7) with every default rule, for one gas reading at a time across 200 sensors, in two
/// regimes: quiet (values well inside the normal band: the common case) and a storm (the harness's random CO
/// 0–50 ppm around the 30 ppm amber level, so about half the readings raise or clear an alert). Per reading.
/// </summary>
public class AlertBenchmarks
{
    private const int Sensors = 200;
    private const int ReadingsPerInvoke = 1000;
    private readonly List<AlertEvent> _events = new(ReadingsPerInvoke);
    private readonly Reading[][] _quiet = new Reading[ReadingsPerInvoke][];
    private readonly Reading[][] _storm = new Reading[ReadingsPerInvoke][];
    private readonly SensorAddress[] _addresses = new SensorAddress[Sensors];
    private AlertEngine _engine = null!;
    private long _ts;

    [GlobalSetup]
    public void Setup()
    {
        _engine = AlertEngine.Create(new AlertRules(), SensorRegistry.Empty, TimeProvider.System, TimeSpan.FromDays(1));
        for (var s = 0; s < Sensors; s++)
        {
            _addresses[s] = new SensorAddress("kukes", "t01", SensorKind.Gas, $"gas-{s:D4}");
        }
        var random = new Random(42);
        _ts = Payloads.ReceivedAtMs - 3_600_000;
        for (var i = 0; i < ReadingsPerInvoke; i++)
        {
            _quiet[i] = [Gas(0, 4.0, 20.9)];
            _storm[i] = [Gas(random.NextDouble() * 5, Math.Round(random.NextDouble() * 50, 1), 20.9 - (random.NextDouble() * 0.5))];
        }
    }

    [Benchmark(Description = "alert evaluation, quiet (per reading)", OperationsPerInvoke = ReadingsPerInvoke)]
    public int Quiet() => Run(_quiet);

    [Benchmark(Description = "alert evaluation, alert storm (per reading)", OperationsPerInvoke = ReadingsPerInvoke)]
    public int Storm() => Run(_storm);

    private int Run(Reading[][] readings)
    {
        _events.Clear();
        for (var i = 0; i < readings.Length; i++)
        {
            // Each sensor's readings move forward in time, as they do on the wire (the engine drops replays).
            var r = readings[i][0];
            r.TimestampMs = _ts += 5;
            _engine.Evaluate(_addresses[i % Sensors], readings[i], _events);
        }
        return _events.Count;
    }

    private static Reading Gas(double ch4, double co, double o2)
    {
        var r = new Reading { TimestampMs = 0 };
        r.Set(Field.Ch4LelPct, ch4);
        r.Set(Field.CoPpm, co);
        r.Set(Field.O2Pct, o2);
        return r;
    }
}
