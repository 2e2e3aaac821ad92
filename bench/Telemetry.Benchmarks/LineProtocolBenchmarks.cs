using BenchmarkDotNet.Attributes;
using Telemetry.Contracts;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Benchmarks;

/// <summary>One reading's line protocol, built the way the service builds it (InfluxDB.Client's PointData).</summary>
public class LineProtocolBenchmarks
{
    private readonly List<Reading> _readings = [];
    private Reading _reading = null!;

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
}
