using BenchmarkDotNet.Attributes;
using Telemetry.Contracts;

namespace Telemetry.Benchmarks;

/// <summary>
/// Decode + validate (SPEC §3–5) of the harness's payload. The per-reading figure is the one the issue targets
/// (≥ 1,000,000 readings/s on one core, nothing allocated per reading beyond the <see cref="Reading"/>).
/// </summary>
public class DecodeBenchmarks
{
    private readonly PayloadDecoder _decoder = new(DecodeLimits.Default);
    private readonly List<Reading> _readings = new(128);
    private readonly List<Rejection> _rejections = new(8);
    private byte[] _one = [];
    private byte[] _hundred = [];

    [GlobalSetup]
    public void Setup()
    {
        _one = Payloads.One(7);
        _hundred = Payloads.Array(100);
        // Refuse to measure a path that rejects: the benchmark is about the accepting path.
        if (Decode(_one) != 1 || Decode(_hundred) != 100)
        {
            throw new InvalidOperationException("sample payloads did not decode to valid readings");
        }
    }

    [Benchmark(Description = "decode+validate, 1 reading")]
    public int SingleReading() => Decode(_one);

    [Benchmark(Description = "decode+validate, array of 100 (per reading)", OperationsPerInvoke = 100)]
    public int ArrayOf100() => Decode(_hundred);

    private int Decode(byte[] payload)
    {
        _readings.Clear();
        _rejections.Clear();
        _decoder.Decode(payload, SensorKind.Gas, Payloads.ReceivedAtMs, _readings, _rejections);
        return _rejections.Count == 0 ? _readings.Count : -1;
    }
}
