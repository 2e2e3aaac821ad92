using BenchmarkDotNet.Attributes;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Benchmarks;

/// <summary>One reading's, and one alert event's, line protocol: PointData alone against the cached paths the service uses.</summary>
public class LineProtocolBenchmarks
{
    private readonly List<Reading> _readings = [];
    private Reading _reading = null!;
    private readonly AlertEvent _alert = new()
    {
        AlertId = "kukes/t01/gas-0007/co-instant", Site = "kukes", Tunnel = "t01", Sensor = "gas-0007", Kind = "gas", Rule = "co-instant",
        Field = "co_ppm", State = AlertState.Raised, Level = "amber", PreviousLevel = "normal", Value = 44.4, Threshold = 30,
        Ts = DateTimeOffset.FromUnixTimeMilliseconds(Payloads.ReceivedAtMs), Message = "CO 44.4 ppm is above the amber level 30 ppm",
    };

    [GlobalSetup]
    public void Setup()
    {
        new PayloadDecoder(DecodeLimits.Default).Decode(Payloads.One(7), SensorKind.Gas, Payloads.ReceivedAtMs, _readings, []);
        _reading = _readings[0];
    }

    [Benchmark(Baseline = true, Description = "PointData only (the path before the head/layout caches)")]
    public string ViaPointData() => PointFactory.ReadingViaPointData(Payloads.Address, _reading);

    [Benchmark(Description = "PointFactory.Reading (gas, 3 fields)")]
    public string Reading() => PointFactory.Reading(Payloads.Address, _reading);

    [Benchmark(Description = "alert event, PointData only")]
    public string AlertViaPointData() => PointFactory.AlertViaPointData(_alert, 1_764_324_000_123_000_001);

    [Benchmark(Description = "alert event, PointFactory.AlertLine")]
    public string Alert() => PointFactory.AlertLine(_alert, 1_764_324_000_123_000_001);
}
