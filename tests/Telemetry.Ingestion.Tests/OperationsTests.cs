using System.Text;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>What an operator relies on: no secrets and no floods in the log, and the metrics that say whether anything is lost.</summary>
[Collection("faults")]
public sealed class OperationsTests : IAsyncLifetime
{
    private MosquittoServer _broker = null!;
    private InfluxServer _influx = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        _broker = await MosquittoServer.SharedAsync();
        _influx = await InfluxServer.SharedAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned))
        {
            await d.DisposeAsync();
        }
    }

    [Fact]
    public async Task WebhookUrl_WhichCarriesItsToken_NeverAppearsInTheLog()
    {
        const string token = "SuperSecretWebhookToken";
        var service = new IngestionService(_broker.Host, _broker.Port, null, "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Alerts__Webhooks__0__Url"] = $"http://127.0.0.1:{FreePort.Next()}/services/T000/B000/{token}",
            ["Telemetry__Alerts__Webhooks__0__MaxAttempts"] = "1",
        });
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        await using var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-1", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"ch4_lel_pct":50}}""");
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_alert_channel_events_total{channel=\"webhook-0\",outcome=\"failed\"}") >= 1, "the webhook delivery to fail");
        Assert.DoesNotContain(token, service.Output, StringComparison.Ordinal);
    }

    // SPEC §10: one log line per rejection reason per interval, not per message, under a flood. write_rejected is a §5 reason.
    [Fact]
    public async Task FieldTypeConflictFlood_LogsOneLinePerReasonPerInterval_NotOnePerPoint()
    {
        var db = InfluxServer.NewDatabaseName("ops");
        await _influx.CreateDatabaseAsync(db);
        var now = Feed.BaseMs();
        using (var http = new HttpClient())
        {
            // Another writer made co_ppm an integer in the current shard: every float co_ppm we write conflicts.
            using var content = new StringContent($"gas,site=kukes,tunnel=t01,sensor=other co_ppm=1i {now - 1000}", Encoding.UTF8);
            using var r = await http.PostAsync(new Uri($"{_influx.Url}/write?db={db}&precision=ms"), content);
            Assert.True(r.IsSuccessStatusCode);
        }
        var service = new IngestionService(_broker.Host, _broker.Port, _influx.Url, db, new Dictionary<string, string?>
        {
            ["Telemetry__Ingestion__StatsInterval"] = "00:01:00",
        });
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        const int n = 200;
        var readings = Enumerable.Range(0, n).Select(i => $$$"""{"ts":{{{now + i}}},"values":{"co_ppm":2.5}}""");
        await using var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t01/gas/logger-1", "[" + string.Join(',', readings) + "]");
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_rejections_total{reason=\"write_rejected\"}") == n, $"{n} write_rejected", TimeSpan.FromSeconds(90));
        var lines = service.Output.Split('\n').Count(l => l.Contains("write_rejected", StringComparison.Ordinal));
        Assert.True(lines <= 2, $"{lines} log lines about write_rejected for {n} points within one stats interval");
    }

    // "Whether anything is being lost": a message is acknowledged only once evaluated, so the broker never has more
    // unevaluated messages out than the receive maximum, and an alert queue that holds that many never overflows, even
    // with no patience at all for room (PostTimeout 0 skips a message's evaluation the moment the queue is full). The
    // counter that would say otherwise is in /metrics.
    [Fact]
    public async Task FloodIntoTheSmallestAlertQueue_SkipsNoEvaluation_AndMetricsSaySo()
    {
        var service = new IngestionService(_broker.Host, _broker.Port, null, "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Mqtt__ReceiveMaximum"] = "16",
            ["Telemetry__Alerts__QueueCapacity"] = "16",
            ["Telemetry__Alerts__PostTimeout"] = "00:00:00",
        });
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        await Feed.PublishGasAsync(_broker.Host, _broker.Port, service.TopicRoot, 0, 20_000, 200, Feed.BaseMs(), window: 2000);
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") == 20_000, "every reading accepted");
        var metrics = await service.GetAsync("/metrics");
        Assert.Matches(@"(?m)^telemetry_alert_queue_dropped_total 0$", metrics);
        Assert.DoesNotContain("were NOT evaluated", service.Output, StringComparison.Ordinal);
    }

    // SPEC §10 "InfluxDB write latency" in ingest_stats is a gauge "at write time" (Schema.cs): a lifetime mean hides an outage.
    [Fact]
    public void IngestStatsWriteLatency_ReflectsTheLastInterval_NotTheLifetimeMean()
    {
        var metrics = new IngestMetrics();
        var reporter = new StatsReporter(metrics, null!, null!, null!, null!, Options.Create(new IngestionOptions()), TimeProvider.System);
        for (var i = 0; i < 100_000; i++)
        {
            metrics.WriteLatency.Observe(0.005); // a day of healthy 5 ms writes
        }
        _ = reporter.Fields().ToList(); // an ingest_stats row
        for (var i = 0; i < 10; i++)
        {
            metrics.WriteLatency.Observe(10.0); // this interval: every write times out after 10 s
        }
        var latencyMs = reporter.Fields().Single(f => f.Key == IngestStatsFields.WriteLatencyMs).Value;
        Assert.Equal(10_000, latencyMs, 3);
    }
}
