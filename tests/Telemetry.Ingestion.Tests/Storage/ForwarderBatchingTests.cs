using System.Diagnostics;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Storage;

/// <summary>A steady trickle of readings reaches a real InfluxDB 1.x in a few large requests, not one per handful.</summary>
public sealed class ForwarderBatchingTests
{
    private const string WriteRequests = "telemetry_influx_write_duration_seconds_count";

    [Fact]
    public async Task Trickle_IsWrittenAtMostOncePerFlushInterval_AndAllOfItIsStored()
    {
        const int Readings = 200;
        var influx = await InfluxServer.SharedAsync();
        var broker = await MosquittoServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName("flush");
        await using var service = new IngestionService(broker.Host, broker.Port, influx.Url, db, new Dictionary<string, string?>
        {
            ["Telemetry__Influx__FlushInterval"] = "00:00:01",
        });
        await service.StartAndWaitReadyAsync();
        await using var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        var t = Feed.BaseMs();

        var before = await service.MetricAsync(WriteRequests);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Readings; i++)
        {
            // One at a time, each acknowledged by the broker before the next: every reading its own small group commit.
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0001", $$$"""{"ts":{{{t + i}}},"values":{"co_ppm":2}}""");
        }
        await Poll.UntilAsync(async () => await influx.CountAsync(db, "gas", "co_ppm") == Readings, "every reading stored");
        var seconds = clock.Elapsed.TotalSeconds;
        // InfluxDB answers queries with the last batch a moment before the service records that request's duration.
        await Poll.UntilAsync(async () => await service.MetricAsync(WriteRequests) > before, "the write requests counted");
        var requests = await service.MetricAsync(WriteRequests) - before;

        // The first partial batch goes at once, then at most one a second (readings, and the 1 s ingest_stats points).
        Assert.InRange(requests, 1, Math.Ceiling(seconds) + 2);
    }
}
