using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>
/// No InfluxDB 2.x runs here, so the v2 write path (InfluxDB.Client) is checked at the HTTP contract level against a
/// listener in the test: path, query, <c>Authorization: Token</c>, gzip line protocol, and retry on a 5xx.
/// </summary>
public sealed class InfluxV2ContractTests : IAsyncLifetime
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<Captured> _writes = new();
    private int _failuresLeft;
    private Task _loop = Task.CompletedTask;
    private int _port;

    private sealed record Captured(string Method, string Path, string Query, string? Authorization, string? ContentEncoding, string Body);

    public Task InitializeAsync()
    {
        _port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{_port}/");
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                var req = ctx.Request;
                if (req.Url!.AbsolutePath == "/api/v2/write")
                {
                    using var ms = new MemoryStream();
                    await req.InputStream.CopyToAsync(ms);
                    var raw = ms.ToArray();
                    var body = req.Headers["Content-Encoding"] == "gzip"
                        ? await new StreamReader(new GZipStream(new MemoryStream(raw), CompressionMode.Decompress), Encoding.UTF8).ReadToEndAsync()
                        : Encoding.UTF8.GetString(raw);
                    _writes.Enqueue(new Captured(req.HttpMethod, req.Url.AbsolutePath, req.Url.Query, req.Headers["Authorization"], req.Headers["Content-Encoding"], body));
                    // The first write carrying the reading is refused, so its retry is observable.
                    var fail = body.Contains("gas-0007", StringComparison.Ordinal) && Interlocked.Decrement(ref _failuresLeft) >= 0;
                    ctx.Response.StatusCode = fail ? 503 : 204;
                }
                else
                {
                    ctx.Response.StatusCode = 204;
                }
                ctx.Response.Close();
            }
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }

    [Fact]
    public async Task V2Write_SendsGzipLineProtocolWithTokenOrgAndBucket_AndRetriesA503()
    {
        _failuresLeft = 1;
        var broker = await MosquittoServer.SharedAsync();
        await using var service = new IngestionService(broker.Host, broker.Port, $"http://127.0.0.1:{_port}", "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Influx__ApiVersion"] = "2",
            ["Telemetry__Influx__Org"] = "tunnels org",
            ["Telemetry__Influx__Bucket"] = "telemetry/autogen",
            ["Telemetry__Influx__Token"] = "test-token-123",
            ["Telemetry__Influx__RetryMinDelay"] = "00:00:00.050",
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
}
