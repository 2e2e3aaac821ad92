using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Ingestion.Storage;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Storage;

/// <summary>
/// SPEC §8: only "one point the server refuses (a field-type conflict)" is quarantined. A 404 for the whole target
/// (bucket/org not created yet, a typo fixed by the operator) says nothing about the points: they must stay in the
/// spool and be stored once the target exists, not be quarantined (and, since the quarantine row gets the same 404,
/// dropped).
/// </summary>
public sealed class MissingTargetTests
{
    [Fact]
    public async Task BucketNotFound_KeepsTheReadings_AndStoresThemOnceTheBucketExists()
    {
        var stored = new ConcurrentQueue<string>();
        var bucketExists = false;
        var refused = 0;
        // InfluxDB 2.x's answer for a bucket that does not exist, until it does.
        await using var influxDb = new HttpStub(async ctx =>
        {
            var body = await HttpStub.BodyAsync(ctx.Request);
            if (Volatile.Read(ref bucketExists))
            {
                foreach (var line in body.Split('\n'))
                {
                    stored.Enqueue(line);
                }
                ctx.Response.StatusCode = 204;
                return;
            }
            Interlocked.Increment(ref refused);
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "application/json";
            await HttpStub.WriteAsync(ctx.Response, """{"code":"not found","message":"bucket \"tunnel_telemetry\" not found"}""");
        });
        var influx = Options.Create(new InfluxOptions
        {
            Url = influxDb.Url, ApiVersion = 2, Org = "org", Bucket = "tunnel_telemetry", Token = "t",
            RetryMinDelay = TimeSpan.FromMilliseconds(20), RetryMaxDelay = TimeSpan.FromMilliseconds(100),
            AuthRetryDelay = TimeSpan.FromMilliseconds(100),
        });
        using var v2 = new InfluxV2Writer(influx);
        var points = new PointFactory(Options.Create(new IngestionOptions { Instance = "test" }), TimeProvider.System);
        var writer = new ResilientWriter(v2, points, new IngestMetrics(), influx, TimeProvider.System, NullLogger<ResilientWriter>.Instance,
            new RejectionLog(NullLogger<RejectionLog>.Instance));
        var lines = Enumerable.Range(0, 4)
            .Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"gas,sensor=g-{i},site=kukes,tunnel=t03 co_ppm=3.5 {1_800_000_000_000_000_000L + i}"))
            .ToList();

        var write = writer.WriteAsync(lines, CancellationToken.None);
        // The operator creates the bucket once the service has been refused a few times (or has given up on the batch).
        await Poll.UntilAsync(() => write.IsCompleted || Volatile.Read(ref refused) >= 3, "three refused writes");
        Volatile.Write(ref bucketExists, true);
        var quarantined = await write.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, quarantined);
        Assert.Equal(4, stored.Count(l => l.StartsWith("gas,", StringComparison.Ordinal)));
    }
}
