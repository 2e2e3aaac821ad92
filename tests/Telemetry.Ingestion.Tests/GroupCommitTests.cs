using System.Diagnostics;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>
/// Group commit's linger (Telemetry:Ingestion:GroupCommitLinger): while readings stream in, a group waits for more before
/// its fsync, so one fsync and one acknowledgement write cover more messages; below the rate nothing waits.
/// </summary>
public sealed class GroupCommitTests : IAsyncLifetime
{
    private InfluxServer _influx = null!;
    private MosquittoServer _broker = null!;
    private readonly string _db = InfluxServer.NewDatabaseName("group");
    private readonly List<IngestionService> _services = [];

    public async Task InitializeAsync()
    {
        _influx = await InfluxServer.SharedAsync();
        _broker = await MosquittoServer.SharedAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _services)
        {
            await s.DisposeAsync();
        }
    }

    private async Task<IngestionService> StartAsync(string linger, int above)
    {
        var service = new IngestionService(_broker.Host, _broker.Port, _influx.Url, _db, new Dictionary<string, string?>
        {
            ["Telemetry__Ingestion__GroupCommitLinger"] = linger,
            ["Telemetry__Ingestion__GroupCommitLingerAbove"] = above.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        _services.Add(service);
        await service.StartAndWaitReadyAsync();
        return service;
    }

    [Fact]
    public async Task WhileReadingsStream_EachGroupWaitsTheLingerForMore_AndEveryReadingIsStored()
    {
        const int n = 3_000;
        var service = await StartAsync("00:00:01", above: 0);
        var clock = Stopwatch.StartNew();
        await Feed.PublishGasAsync(_broker.Host, _broker.Port, service.TopicRoot, 0, n, 30, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") == n, "every reading durable and acknowledged", TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;

        // Every group waited a second before its fsync, one after another: no more groups than whole seconds passed
        // (a little slack for the timer). Without the linger a few thousand messages take dozens of fsyncs.
        var commits = await service.MetricAsync("telemetry_group_commits_total");
        Assert.InRange(commits, 1, elapsed.TotalSeconds / 0.9);
        await Poll.UntilAsync(async () => await _influx.CountAsync(_db, "gas", "o2_pct") == n, "every reading in InfluxDB");
    }

    [Fact]
    public async Task BelowTheRate_ReadingsAreAcknowledgedWithoutWaitingForTheLinger()
    {
        const int n = 5;
        var service = await StartAsync("00:00:01", above: 10_000);
        await using var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= n; i++)
        {
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0042", $$$"""{"ts":{{{Feed.BaseMs() + i}}},"values":{"o2_pct":20.9}}""");
            await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") == i, $"reading {i} acknowledged");
        }

        // One after another, each in a group of its own; a linger would have held each for a second.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(n), $"{n} readings took {clock.Elapsed}");
        Assert.Equal(n, await service.MetricAsync("telemetry_group_commits_total"));
    }
}
