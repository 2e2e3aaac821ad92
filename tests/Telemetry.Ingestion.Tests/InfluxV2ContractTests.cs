using System.Collections.Concurrent;
using System.Text;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>
/// No InfluxDB 2.x runs here, so the v2 write path (InfluxDB.Client) is checked at the HTTP contract level against a
/// listener in the test: path, query, <c>Authorization: Token</c>, gzip line protocol, and retry on a 5xx.
/// </summary>
public sealed class InfluxV2ContractTests : IAsyncDisposable
{
    private readonly ConcurrentQueue<Captured> _writes = new();
    private readonly HttpStub _influx;
    private int _failuresLeft;

    /// <summary>Decides the answer to a write (status, Retry-After seconds); null: the default behaviour.</summary>
    private Func<string, (int Status, int? RetryAfter)>? _answer;

    private sealed record Captured(string Method, string Path, string Query, string? Authorization, string? ContentEncoding, string Body)
    {
        public DateTimeOffset At { get; } = TimeProvider.System.GetUtcNow();
    }

    public InfluxV2ContractTests() => _influx = new HttpStub(async ctx =>
    {
        var req = ctx.Request;
        if (req.Url!.AbsolutePath != "/api/v2/write")
        {
            ctx.Response.StatusCode = 204;
            return;
        }
        var body = await HttpStub.BodyAsync(req);
        _writes.Enqueue(new Captured(req.HttpMethod, req.Url.AbsolutePath, req.Url.Query, req.Headers["Authorization"], req.Headers["Content-Encoding"], body));
        // The first write carrying the reading is refused, so its retry is observable.
        var fail = body.Contains("gas-0007", StringComparison.Ordinal) && Interlocked.Decrement(ref _failuresLeft) >= 0;
        var (status, retryAfter) = _answer?.Invoke(body) ?? (fail ? 503 : 204, null);
        ctx.Response.StatusCode = status;
        if (retryAfter is { } seconds)
        {
            ctx.Response.AddHeader("Retry-After", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    });

    public ValueTask DisposeAsync() => _influx.DisposeAsync();

    [Fact]
    public async Task V2Write_SendsGzipLineProtocolWithTokenOrgAndBucket_AndRetriesA503()
    {
        _failuresLeft = 1;
        var broker = await MosquittoServer.SharedAsync();
        await using var service = new IngestionService(broker.Host, broker.Port, _influx.Url, "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Influx__ApiVersion"] = "2",
            ["Telemetry__Influx__Org"] = "tunnels org",
            ["Telemetry__Influx__Bucket"] = "telemetry/autogen",
            ["Telemetry__Influx__Token"] = "test-token-123",
            ["Telemetry__Influx__RetryMinDelay"] = "00:00:00.050",
            ["Telemetry__Influx__Gzip"] = "true",
        });
        await service.StartAndWaitReadyAsync();
        await using var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        var ts = Feed.BaseMs() + 250;
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{ts}}},"values":{"co_ppm":3.5}}""");

        try
        {
            await Poll.UntilAsync(() => _writes.Count(w => w.Body.Contains("gas-0007", StringComparison.Ordinal)) >= 2, "the first (503) attempt and its retry");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; captured: {string.Join(" | ", _writes.Select(w => $"{w.Path}{w.Query} {w.ContentEncoding} {w.Body[..Math.Min(80, w.Body.Length)]}"))}\n{service.Process.Tail(30)}", ex);
        }
        var write = _writes.Last(w => w.Body.Contains("gas-0007", StringComparison.Ordinal));
        Assert.Equal("POST", write.Method);
        Assert.Equal("/api/v2/write", write.Path);
        var query = System.Web.HttpUtility.ParseQueryString(write.Query);
        Assert.Equal("tunnels org", query["org"]);
        Assert.Equal("telemetry/autogen", query["bucket"]);
        Assert.Equal("ns", query["precision"]);
        Assert.Equal("Token test-token-123", write.Authorization);
        Assert.Equal("gzip", write.ContentEncoding);
        Assert.Contains($"gas,sensor=gas-0007,site=kukes,tunnel=t03 co_ppm=3.5 {ts * 1_000_000}", write.Body, StringComparison.Ordinal);
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_stored_total") == 1, "the reading counted as stored after the retry");
    }

    private async Task<IngestionService> StartV2ServiceAsync(MosquittoServer broker, Dictionary<string, string?>? extra = null)
    {
        var env = new Dictionary<string, string?>
        {
            ["Telemetry__Influx__ApiVersion"] = "2",
            ["Telemetry__Influx__Org"] = "org",
            ["Telemetry__Influx__Bucket"] = "bucket",
            ["Telemetry__Influx__Token"] = "token",
            ["Telemetry__Influx__RetryMinDelay"] = "00:00:00.050",
            ["Telemetry__Influx__AuthRetryDelay"] = "00:00:00.500",
        };
        foreach (var (k, v) in extra ?? [])
        {
            env[k] = v;
        }
        var service = new IngestionService(broker.Host, broker.Port, _influx.Url, "unused", env);
        await service.StartAndWaitReadyAsync();
        return service;
    }

    [Fact]
    public async Task Unauthorized_IsReportedLoudlyAndRetriedSlowly_AndReadingsWaitInTheSpool()
    {
        var authorized = false;
        _answer = body => (Volatile.Read(ref authorized) ? 204 : 401, null);
        var broker = await MosquittoServer.SharedAsync();
        await using var service = await StartV2ServiceAsync(broker);
        await using var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/g-1", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"co_ppm":1}}""");

        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_influx_write_failures_total{class=\"auth\"}") >= 2, "two refused attempts");
        Assert.Contains("refused our credentials", service.Output, StringComparison.Ordinal);
        Assert.True(await service.MetricAsync("telemetry_spool_readings") >= 1);
        // Slowly: attempts are at least the configured auth delay apart (0.5 s here, 30 s by default).
        var attempts = _writes.Select(w => w.At).ToList();
        Assert.All(attempts.Zip(attempts.Skip(1)), p => Assert.True(p.Second - p.First >= TimeSpan.FromMilliseconds(400), $"{p.Second - p.First} between attempts"));

        Volatile.Write(ref authorized, true);
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_spool_readings") == 0, "the reading forwarded once the token works");
    }

    [Fact]
    public async Task TooLarge_IsSplitUntilTheServerTakesIt()
    {
        // The "server" takes at most 10 lines per request.
        _answer = body => (body.Split('\n').Length > 10 ? 413 : 204, null);
        var broker = await MosquittoServer.SharedAsync();
        await using var service = await StartV2ServiceAsync(broker);
        await using var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        var t = Feed.BaseMs();
        var readings = string.Join(',', Enumerable.Range(0, 100).Select(i => $$$"""{"ts":{{{t + i}}},"values":{"co_ppm":{{{i}}}}}"""));
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/g-1", "[" + readings + "]");

        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_stored_total") == 100, "all 100 readings stored in parts");
        var accepted = _writes.Where(w => w.Body.Split('\n').Length <= 10).SelectMany(w => w.Body.Split('\n')).Where(l => l.StartsWith("gas,", StringComparison.Ordinal)).Distinct().Count();
        Assert.Equal(100, accepted);
        Assert.True(await service.MetricAsync("telemetry_influx_write_failures_total{class=\"too_large\"}") >= 1);
    }

    [Fact]
    public async Task TooManyRequests_WaitsAtLeastRetryAfter()
    {
        var refused = 0;
        _answer = body => body.Contains("g-429", StringComparison.Ordinal) && Interlocked.Increment(ref refused) == 1 ? (429, 2) : (204, null);
        var broker = await MosquittoServer.SharedAsync();
        await using var service = await StartV2ServiceAsync(broker);
        await using var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/g-429", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"co_ppm":1}}""");

        await Poll.UntilAsync(() => _writes.Count(w => w.Body.Contains("g-429", StringComparison.Ordinal)) >= 2, "the retry after the 429");
        var tries = _writes.Where(w => w.Body.Contains("g-429", StringComparison.Ordinal)).Select(w => w.At).ToList();
        Assert.True(tries[1] - tries[0] >= TimeSpan.FromSeconds(1.9), $"retried after {tries[1] - tries[0]}, Retry-After was 2 s");
    }
}
