using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.State;

namespace Telemetry.Benchmarks;

/// <summary>The whole alert state's JSON once the fleet has run for hours (<see cref="WarmState"/>): what a snapshot writes.</summary>
public class SnapshotScaleBenchmarks
{
    [Params(200, 2000)]
    public int Sensors { get; set; }

    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);
    private AlertEngineState _state = null!;

    [GlobalSetup]
    public void Setup()
    {
        _state = WarmState.Build(Sensors, Payloads.ReceivedAtMs);
        Console.WriteLine($"// snapshot of {Sensors} warm sensors: {Snapshot():N0} bytes");
    }

    [Benchmark(Description = "snapshot, warm sensors")]
    public long Snapshot()
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        JsonSerializer.Serialize(writer, _state, StateJson.Options);
        writer.Flush();
        return _buffer.WrittenCount;
    }
}
