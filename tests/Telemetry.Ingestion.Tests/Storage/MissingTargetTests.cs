using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Storage;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Storage;

/// <summary>
/// SPEC §8: only "one point the server refuses (a field-type conflict)" is quarantined. A 404 for the whole target
/// (bucket/org not created yet, a typo fixed by the operator) says nothing about the points: they must stay in the
/// spool and be stored once the target exists, not be quarantined (and, since the quarantine row gets the same 404,
/// dropped).
/// </summary>
public sealed class MissingTargetTests : IAsyncLifetime
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<string> _stored = new();
    private volatile bool _bucketExists;
    private Task _loop = Task.CompletedTask;
    private int _port;
    private int _refused;

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
                using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                if (!_bucketExists)
                {
                    Interlocked.Increment(ref _refused);
                }
                if (_bucketExists)
                {
                    foreach (var line in body.Split('\n'))
                    {
                        _stored.Enqueue(line);
                    }
                    ctx.Response.StatusCode = 204;
                }
                else
                {
                    ctx.Response.StatusCode = 404;
                    ctx.Response.ContentType = "application/json";
                    var bytes = Encoding.UTF8.GetBytes("""{"code":"not found","message":"bucket \"tunnel_telemetry\" not found"}""");
                    await ctx.Response.OutputStream.WriteAsync(bytes);
                }
                ctx.Response.Close();
            }
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _listener.Close();
        await _loop;
    }

    [Fact]
    public async Task BucketNotFound_KeepsTheReadings_AndStoresThemOnceTheBucketExists()
    {
        var influx = Options.Create(new InfluxOptions
        {
            Url = $"http://127.0.0.1:{_port}", ApiVersion = 2, Org = "org", Bucket = "tunnel_telemetry", Token = "t", Gzip = false,
            RetryMinDelay = TimeSpan.FromMilliseconds(20), RetryMaxDelay = TimeSpan.FromMilliseconds(100),
            AuthRetryDelay = TimeSpan.FromMilliseconds(100),
        });
        using var v2 = new InfluxV2Writer(influx);
        var points = new PointFactory(Options.Create(new IngestionOptions { Instance = "test" }), TimeProvider.System);
        var writer = new ResilientWriter(v2, points, new IngestMetrics(), influx, TimeProvider.System, NullLogger<ResilientWriter>.Instance);
        var lines = Enumerable.Range(0, 4)
            .Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"gas,sensor=g-{i},site=kukes,tunnel=t03 co_ppm=3.5 {1_800_000_000_000_000_000L + i}"))
            .ToList();

        var write = writer.WriteAsync(lines, CancellationToken.None);
        // The operator creates the bucket once the service has been refused a few times (or has given up on the batch).
        await Poll.UntilAsync(() => write.IsCompleted || Volatile.Read(ref _refused) >= 3, "three refused writes");
        _bucketExists = true;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var quarantined = await write.WaitAsync(cts.Token);

        Assert.Equal(0, quarantined);
        Assert.Equal(4, _stored.Count(l => l.StartsWith("gas,", StringComparison.Ordinal)));
    }
}
