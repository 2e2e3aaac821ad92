using System.Text;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Storage;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Storage;

/// <summary>
/// SPEC §8: retried with backoff that honours Retry-After. RFC 9110 §10.2.3 allows Retry-After as an HTTP-date as well
/// as seconds (proxies and load balancers in front of InfluxDB send dates). A 503 must stay a transient outcome.
/// </summary>
public sealed class RetryAfterDateTests : IAsyncDisposable
{
    private readonly string _retryAt = TimeProvider.System.GetUtcNow().AddSeconds(30).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    private readonly HttpStub _proxy;
    private int _writes;

    // A proxy in front of InfluxDB, busy: 503 with a Retry-After date to every request.
    public RetryAfterDateTests() => _proxy = new HttpStub(async ctx =>
    {
        await ctx.Request.InputStream.CopyToAsync(Stream.Null);
        if (ctx.Request.Url!.AbsolutePath.Contains("write", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _writes);
        }
        ctx.Response.StatusCode = 503;
        ctx.Response.AddHeader("Retry-After", _retryAt);
    });

    public ValueTask DisposeAsync() => _proxy.DisposeAsync();

    private static List<ReadOnlyMemory<byte>> Lines() =>
        [Encoding.UTF8.GetBytes("gas,sensor=gas-0007,site=kukes,tunnel=t03 co_ppm=3.5 1795860000000000000")];

    [Fact]
    public async Task V2_503WithHttpDateRetryAfter_IsTransient()
    {
        using var writer = new InfluxV2Writer(Options.Create(new InfluxOptions { Url = _proxy.Url, Org = "org", Bucket = "b", Token = "t" }));
        var outcome = await writer.WriteAsync(Lines(), CancellationToken.None);
        Assert.Equal(WriteStatus.Transient, outcome.Status);
    }

    [Fact]
    public async Task V1_503WithHttpDateRetryAfter_IsTransientAndWaitsUntilThatDate()
    {
        using var writer = new InfluxV1Writer(Options.Create(new InfluxOptions { Url = _proxy.Url, Database = "db" }));
        var outcome = await writer.WriteAsync(Lines(), CancellationToken.None);
        Assert.Equal(WriteStatus.Transient, outcome.Status);
        Assert.InRange(outcome.RetryAfter ?? TimeSpan.Zero, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(31));
    }

    [Fact]
    public async Task V2_503WithHttpDateRetryAfter_ServiceKeepsRunning()
    {
        var broker = await MosquittoServer.SharedAsync();
        await using var service = new IngestionService(broker.Host, broker.Port, _proxy.Url, "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Influx__ApiVersion"] = "2",
            ["Telemetry__Influx__Org"] = "org",
            ["Telemetry__Influx__Bucket"] = "bucket",
            ["Telemetry__Influx__Token"] = "token",
        });
        await service.StartAndWaitReadyAsync();
        await using var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"co_ppm":3.5}}""");

        // The forwarder meets the 503 at once; InfluxDB (or a proxy in front of it) being busy must not take ingestion and
        // alerting down: it tries again, and again.
        await Poll.UntilAsync(() => !service.Process.IsRunning || Volatile.Read(ref _writes) >= 3, "three write attempts");
        Assert.True(service.Process.IsRunning, $"the service exited ({service.Process.ExitCode}):\n{service.Process.Tail(20)}");
    }
}
