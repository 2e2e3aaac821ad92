using System.Globalization;
using System.Net.Http;
using System.Text;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

[CollectionDefinition("faults", DisableParallelization = true)]
public sealed class FaultsCollection;

/// <summary>
/// SPEC §8 proven by fault injection: real mosquitto, real influxd, the service as a real process. Each test expects
/// an exact count: at-least-once delivery plus InfluxDB's point identity must store every reading exactly once.
/// </summary>
[Collection("faults")]
public sealed class FaultInjectionTests : IAsyncLifetime
{
    private MosquittoServer _broker = null!;
    private InfluxServer _influx = null!;
    private readonly string _db = InfluxServer.NewDatabaseName("fault");
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        _broker = await MosquittoServer.StartAsync(persistence: true);
        _influx = await InfluxServer.StartAsync();
        _owned.Add(_broker);
        _owned.Add(_influx);
    }

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned))
        {
            await d.DisposeAsync();
        }
    }

    private async Task<IngestionService> StartServiceAsync(string? influxUrl = "", Dictionary<string, string?>? extra = null)
    {
        var service = new IngestionService(_broker.Host, _broker.Port, influxUrl == "" ? _influx.Url : influxUrl, _db, extra);
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        return service;
    }

    private Task<long> StoredAsync() => _influx.CountAsync(_db, "gas", "o2_pct");

    private async Task ExpectExactlyAsync(long n, IngestionService service)
    {
        try
        {
            await Poll.UntilAsync(async () => await StoredAsync() >= n, $"{n} readings in InfluxDB", TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; stored {await StoredAsync()}. Service log:\n{service.Process.Tail(40)}", ex);
        }
        Assert.Equal(n, await StoredAsync());
    }

    private Task FeedAsync(IngestionService service, int from, int to, long baseMs) =>
        Feed.PublishGasAsync(_broker.Host, _broker.Port, service.TopicRoot, from, to, 200, baseMs);

    [Fact]
    public async Task InfluxStoppedWhileReadingsArrive_ThenStarted_StoresExactlyAll()
    {
        const int n = 20_000;
        var service = await StartServiceAsync();
        await _influx.StopAsync();
        await FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") == n, "every reading durable in the spool while InfluxDB is down");
        Assert.Equal(n, await service.MetricAsync("telemetry_spool_readings"));
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_influx_write_failures_total{class=\"transient\"}") > 0, "a transient write failure");

        await _influx.StartAgainAsync();
        await ExpectExactlyAsync(n, service);
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_spool_readings") == 0, "the spool to drain");
    }

    [Fact]
    public async Task InfluxFrozenMidFeed_ThenResumed_TimeoutsHandledAndExactlyAllStored()
    {
        const int n = 10_000;
        var service = await StartServiceAsync();
        var baseMs = Feed.BaseMs();
        await FeedAsync(service, 0, n / 2, baseMs);
        await Poll.UntilAsync(async () => await StoredAsync() > 0, "some readings stored before the freeze");
        _influx.Process.Signal(ServerProcess.SigStop);
        try
        {
            await FeedAsync(service, n / 2, n, baseMs);
            // The write timeout is 3 s in these tests: the frozen server must surface as a handled transient failure.
            await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_influx_write_failures_total{class=\"transient\"}") > 0,
                "a timed-out write counted as transient", TimeSpan.FromSeconds(60));
        }
        finally
        {
            _influx.Process.Signal(ServerProcess.SigCont);
        }
        await ExpectExactlyAsync(n, service);
    }

    [Fact]
    public async Task ServiceKilledMidFeed_ThenRestarted_StoresExactlyAll()
    {
        const int n = 50_000;
        var service = await StartServiceAsync();
        var feed = FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") >= 5_000, "the feed to be under way");
        await service.Process.KillAsync();
        await feed;
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await ExpectExactlyAsync(n, service);
    }

    // The alert engine evaluates a reading beside its storage; the broker's acknowledgement waits for both. Acknowledged
    // once stored only, a reading whose raise was not yet saved when the service was killed was never evaluated again.
    [Fact]
    public async Task ServiceKilledBeforeAReadingsRaiseIsSaved_RaisesItAfterTheRestart()
    {
        var service = await StartServiceAsync();
        // The alert state's disk stalls: its journal is a FIFO nobody reads, and opening it waits.
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", service.AlertStateFile + ".journal"))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        await using (var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{now}}},"values":{"co_ppm":150,"o2_pct":20.9}}""");
        }
        // Stored, and the raise evaluated but not saved: the acknowledgement waits, and the log says why.
        await Poll.UntilAsync(async () => await _influx.CountAsync(_db, "gas", "co_ppm") == 1, "the reading in InfluxDB");
        await Poll.UntilAsync(() => service.Output.Contains("s for the alert engine to evaluate", StringComparison.Ordinal), "the warning");
        await service.Process.KillAsync();

        File.Delete(service.AlertStateFile + ".journal");
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await Poll.UntilAsync(async () => (await service.GetAsync("/api/alerts")).Contains("gas-0007/co-instant", StringComparison.Ordinal),
            "the raise, from the broker's redelivery");
        Assert.Equal(1, await _influx.CountAsync(_db, "gas", "co_ppm"));
    }

    [Fact]
    public async Task SigtermDuringFeed_ExitsZeroWithinTheTimeout_AndAfterRestartExactlyAllStored()
    {
        const int n = 20_000;
        var service = await StartServiceAsync();
        var feed = FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") >= 2_000, "the feed to be under way");
        service.Process.Signal(ServerProcess.SigTerm);
        Assert.Equal(0, await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        Assert.Contains("Stopped taking MQTT messages", service.Output, StringComparison.Ordinal);
        await feed;
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await ExpectExactlyAsync(n, service);
    }

    // When the spool cannot be written (its directory gone; a failing disk), the processor fails and the host stops. .NET
    // 10's host then returns as after a clean stop; the exit code must still say it failed, or a supervisor that restarts
    // on failure (systemd's on-failure) leaves the service down. What was not acknowledged stays with the broker.
    [Fact]
    public async Task SpoolUnwritable_TheServiceStops_WithAFailureExitCode()
    {
        var service = await StartServiceAsync(influxUrl: null, new Dictionary<string, string?> { ["Telemetry__Spool__SegmentBytes"] = "65536" });
        await FeedAsync(service, 0, 200, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") >= 200, "the first readings spooled");
        // The next segment cannot be created: where the directory was is now a file.
        Directory.Delete(service.SpoolDirectory, recursive: true);
        await File.WriteAllTextAsync(service.SpoolDirectory, "not a directory");
        var feed = FeedAsync(service, 200, 5_000, Feed.BaseMs());

        var code = await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code != 0, $"exit code {code}:\n{service.Process.Tail(20)}");
        await feed;
    }

    [Fact]
    public async Task BrokerRestarted_ServiceReconnectsAndCarriesOn()
    {
        const int n = 6_000;
        var service = await StartServiceAsync();
        var baseMs = Feed.BaseMs();
        await FeedAsync(service, 0, n / 2, baseMs);
        // The broker here keeps no sessions across a restart: what it still held for us would go with it, through no
        // fault of the service. So restart it once the service has taken the first half.
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") >= n / 2, "the first half to be accepted");
        await _broker.StopAsync();
        await _broker.StartAgainAsync();
        // Readiness alone can race: until the service notices the old connection is gone it still reports ready, and
        // the new broker (no sessions) drops what is published before the service has subscribed again.
        await Poll.UntilAsync(() => service.Output.Split("Connected to MQTT broker").Length > 2, "the service to reconnect and subscribe again");
        await service.WaitReadyAsync();
        await FeedAsync(service, n / 2, n, baseMs);
        await ExpectExactlyAsync(n, service);
        Assert.Contains("MQTT connection lost", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpoolCapReachedDuringOutage_StopsAcknowledging_AndNothingIsLostOnceInfluxIsBack()
    {
        const int n = 20_000;
        var service = await StartServiceAsync(extra: new()
        {
            ["Telemetry__Spool__MaxBytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Spool__SegmentBytes"] = (128 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Mqtt__ReceiveMaximum"] = "500",
        });
        await _influx.StopAsync();
        await FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_spool_full") == 1, "the spool to reach its cap");
        var accepted = await service.MetricAsync("telemetry_readings_accepted_total");
        Assert.True(accepted < n, $"acknowledging must stop at the cap; {accepted} of {n} accepted");
        using (var ready = await service.Http.GetAsync(new Uri($"http://127.0.0.1:{service.HttpPort}/health/ready")))
        {
            Assert.Equal(503, (int)ready.StatusCode);
            Assert.Contains("spool full", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // Logged once, not per message.
        Assert.Single(service.Output.Split('\n'), l => l.Contains("Spool full", StringComparison.Ordinal));

        await _influx.StartAgainAsync();
        await ExpectExactlyAsync(n, service);
    }

    [Fact]
    public async Task SigtermWithInfluxDownAndTheSpoolFull_StillExitsZeroWithinTheTimeout_AndLosesNothing()
    {
        const int n = 20_000;
        var service = await StartServiceAsync(extra: new()
        {
            ["Telemetry__Spool__MaxBytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Spool__SegmentBytes"] = (128 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Ingestion__ShutdownTimeout"] = "00:00:02",
        });
        await _influx.StopAsync();
        await FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_spool_full") == 1, "the spool to reach its cap");

        service.Process.Signal(ServerProcess.SigTerm);
        Assert.Equal(0, await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("stay in the spool", service.Output, StringComparison.Ordinal);

        await _influx.StartAgainAsync();
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await ExpectExactlyAsync(n, service);
    }

    [Fact]
    public async Task TornLastSpoolRecord_IsCutOffAtStart_AndEverythingBeforeItIsForwarded()
    {
        const int n = 1_000;
        var service = await StartServiceAsync(influxUrl: null);
        await FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") == n, "every reading spooled");
        await service.Process.StopAsync();

        // A power cut in the middle of an append: a header that promises more bytes than follow.
        var tail = Directory.GetFiles(service.SpoolDirectory, "*.seg").Order(StringComparer.Ordinal).Last();
        await using (var f = new FileStream(tail, FileMode.Append))
        {
            byte[] torn = [0x54, 0x54, 0x53, 0x50, 0x00, 0x10, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7];
            await f.WriteAsync(torn);
        }
        service.Set("Telemetry__Influx__Url", _influx.Url);
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await ExpectExactlyAsync(n, service);
        Assert.Contains("torn record", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BatchWithOneConflictingPoint_StoresTheRestAndQuarantinesThatOneAsWriteRejected()
    {
        // Another writer made co_ppm an integer in an old shard; our float co_ppm conflicts there and only there.
        await _influx.CreateDatabaseAsync(_db);
        var oldMs = Feed.BaseMs() - (20L * 24 * 3600 * 1000);
        using (var http = new HttpClient())
        {
            using var content = new StringContent($"gas,site=kukes,tunnel=t01,sensor=other co_ppm=1i {oldMs}", Encoding.UTF8);
            using var r = await http.PostAsync(new Uri($"{_influx.Url}/write?db={_db}&precision=ms"), content);
            Assert.True(r.IsSuccessStatusCode);
        }
        var service = await StartServiceAsync();
        var now = Feed.BaseMs();
        var readings = Enumerable.Range(0, 49).Select(i => $$$"""{"ts":{{{now + i}}},"values":{"co_ppm":2.5,"o2_pct":20.9}}""")
            .Append($$$"""{"ts":{{{oldMs + 1}}},"values":{"co_ppm":2.5,"o2_pct":20.9}}""");
        await using var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t01/gas/logger-1", "[" + string.Join(',', readings) + "]");

        var rejected = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM rejected WHERE reason = 'write_rejected'"), r => r.Count == 1, "one write_rejected row");
        Assert.Equal("co_ppm", rejected[0]["field"].GetString());
        Assert.Contains("logger-1", rejected[0]["payload"].GetString(), StringComparison.Ordinal);
        Assert.Contains("conflict", rejected[0]["detail"].GetString(), StringComparison.Ordinal);
        Assert.Equal(49, await _influx.CountAsync(_db, "gas", "o2_pct", "WHERE sensor = 'logger-1'"));
        Assert.Equal(1, await service.MetricAsync("telemetry_rejections_total{reason=\"write_rejected\"}"));
    }

    [Fact]
    public async Task NoInfluxUrl_ReadingsWaitInTheSpool_AndAreForwardedAfterARestartWithAUrl()
    {
        const int n = 1_000;
        var service = await StartServiceAsync(influxUrl: null);
        await FeedAsync(service, 0, n, Feed.BaseMs());
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_spool_readings") == n, "every reading waiting in the spool");
        Assert.Contains("store and forward", await service.GetAsync("/health/ready"), StringComparison.Ordinal);
        await service.Process.StopAsync();
        Assert.Equal(0, service.Process.ExitCode);

        service.Set("Telemetry__Influx__Url", _influx.Url);
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await ExpectExactlyAsync(n, service);
    }
}
