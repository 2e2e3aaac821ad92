using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>SPEC §7 through the whole service: real mosquitto, real influxd, the service as a process.</summary>
public sealed class AlertsEndToEndTests : IAsyncLifetime
{
    private const string Sensor = "gas-0007";
    private InfluxServer _influx = null!;
    private MosquittoServer _broker = null!;
    private MqttTestClient _sensor = null!;
    private MqttTestClient _officer = null!;
    private readonly string _db = InfluxServer.NewDatabaseName("alerts");
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        _influx = await InfluxServer.SharedAsync();
        _broker = await MosquittoServer.SharedAsync();
        _sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        _officer = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        _owned.Add(_sensor);
        _owned.Add(_officer);
    }

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned))
        {
            await d.DisposeAsync();
        }
    }

    private async Task<IngestionService> StartAsync(string? influxUrl = "", Dictionary<string, string?>? extra = null)
    {
        var service = new IngestionService(_broker.Host, _broker.Port, influxUrl == "" ? _influx.Url : influxUrl, _db, extra);
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        await _officer.SubscribeAsync(service.AlertsRoot + "/#");
        return service;
    }

    private Task PublishCh4Async(IngestionService s, long ts, double lel) =>
        _sensor.PublishAsync($"{s.TopicRoot}/kukes/t03/gas/{Sensor}", $$$"""{"ts":{{{ts}}},"values":{"ch4_lel_pct":{{{lel}}},"o2_pct":20.9}}""");

    private List<JsonElement> Events(IngestionService s) => _officer.Received
        .Where(m => m.Topic == $"{s.AlertsRoot}/kukes/t03/{Sensor}/ch4-lel" && m.Payload.Length > 0)
        .Select(m => JsonDocument.Parse(m.Payload).RootElement.Clone()).ToList();

    private async Task<List<JsonElement>> EventsAsync(IngestionService s, int count, string what) =>
        await Poll.ForAsync(() => Task.FromResult(Events(s)), e => e.Count >= count, what);

    [Fact]
    public async Task MethaneEpisode_RaisesEscalatesClears_OnMqttInfluxAndWebhook_WithRetainedStateWhileActive()
    {
        var hooks = new ConcurrentQueue<string>();
        var port = FreePort.Next();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var firstHook = true;
        var loop = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                try
                {
                    var ctx = await listener.GetContextAsync();
                    using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
                    var body = await reader.ReadToEndAsync();
                    // The first delivery fails: the webhook channel must retry it.
                    ctx.Response.StatusCode = firstHook ? 500 : 200;
                    if (!firstHook)
                    {
                        hooks.Enqueue(body);
                    }
                    firstHook = false;
                    ctx.Response.Close();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        var service = await StartAsync(extra: new()
        {
            ["Telemetry__Alerts__Webhooks__0__Url"] = $"http://127.0.0.1:{port}/hook",
            ["Telemetry__Alerts__Webhooks__0__Secret"] = "hook-secret",
            ["Telemetry__Alerts__Webhooks__0__RetryDelay"] = "00:00:00.100",
        });
        var t = Feed.BaseMs() + 3_000_000;
        await PublishCh4Async(service, t, 4);
        await PublishCh4Async(service, t + 1000, 12);
        var raised = (await EventsAsync(service, 1, "raised"))[0];
        Assert.Equal("raised", raised.GetProperty("state").GetString());
        Assert.Equal("amber", raised.GetProperty("level").GetString());
        Assert.Equal($"kukes/t03/{Sensor}/ch4-lel", raised.GetProperty("alert_id").GetString());
        Assert.Equal(12, raised.GetProperty("value").GetDouble());
        Assert.Equal(10, raised.GetProperty("threshold").GetDouble());
        Assert.Equal("ch4_lel_pct", raised.GetProperty("field").GetString());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(t + 1000), raised.GetProperty("ts").GetDateTimeOffset());

        await PublishCh4Async(service, t + 2000, 25);
        await PublishCh4Async(service, t + 3000, 26); // stays above: no new event
        var escalated = (await EventsAsync(service, 2, "escalated"))[1];
        Assert.Equal(("escalated", "red", "amber"), (escalated.GetProperty("state").GetString(), escalated.GetProperty("level").GetString(), escalated.GetProperty("previous_level").GetString()));

        // A safety officer's app that connects now sees the active alert at once (retained).
        await using (var late = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            await late.SubscribeAsync($"{service.AlertsRoot}/kukes/t03/{Sensor}/ch4-lel");
            var retained = await Poll.ForAsync(() => Task.FromResult(late.Received.ToList()), r => r.Count > 0, "the retained alert");
            Assert.True(retained[0].Retain);
            Assert.Contains("\"escalated\"", retained[0].Text, StringComparison.Ordinal);
        }

        await PublishCh4Async(service, t + 4000, 9.6); // inside amber's hysteresis band (10 - 0.5): de-escalates, not cleared
        await PublishCh4Async(service, t + 5000, 9.0);
        var events = await EventsAsync(service, 4, "deescalated and cleared");
        Assert.Equal(["raised", "escalated", "deescalated", "cleared"], events.Select(e => e.GetProperty("state").GetString()));

        // Cleared: the retained message is gone. A marker published after subscribing arrives after any retained message.
        await using (var late = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            await late.SubscribeAsync($"{service.AlertsRoot}/kukes/t03/{Sensor}/#");
            await _sensor.PublishAsync($"{service.AlertsRoot}/kukes/t03/{Sensor}/marker", "m");
            await Poll.UntilAsync(() => late.Received.Any(m => m.Topic.EndsWith("/marker", StringComparison.Ordinal)), "the marker");
            Assert.DoesNotContain(late.Received, m => m.Topic.EndsWith("/ch4-lel", StringComparison.Ordinal) && m.Payload.Length > 0);
        }

        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM alerts WHERE rule = 'ch4-lel'"), r => r.Count == 4, "4 alerts rows");
        Assert.Equal(["raised", "escalated", "deescalated", "cleared"], rows.Select(r => r["state"].GetString()));
        Assert.All(rows, r => Assert.Equal($"kukes/t03/{Sensor}/ch4-lel", r["alert_id"].GetString()));

        var hookBodies = await Poll.ForAsync(() => Task.FromResult(hooks.ToList()), h => h.Count >= 4, "4 webhook deliveries (the first after a retry)");
        Assert.Contains("\"raised\"", hookBodies[0], StringComparison.Ordinal);
        // Close, not Stop: a Stop before the using's Dispose makes Dispose bind the port again (see InfluxV2ContractTests).
        listener.Close();
        await loop;
    }

    [Fact]
    public async Task Acknowledgement_ByMqttAndByHttp_WithTheApiKey()
    {
        var service = await StartAsync();
        var t = Feed.BaseMs() + 3_000_000;
        await PublishCh4Async(service, t, 30);
        await EventsAsync(service, 1, "raised red");

        using (var anonymous = await service.Http.PostAsJsonAsync(new Uri($"http://127.0.0.1:{service.HttpPort}/api/alerts/kukes/t03/{Sensor}/ch4-lel/ack"), new { by = "eve" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        await _sensor.PublishAsync($"{service.AlertsRoot}/ack/kukes/t03/{Sensor}/ch4-lel", """{"by":"ana","note":"ventilation on"}""");
        var acked = (await EventsAsync(service, 2, "acknowledged"))[1];
        Assert.Equal("acknowledged", acked.GetProperty("state").GetString());
        Assert.Equal("red", acked.GetProperty("level").GetString());
        Assert.Equal("ana", acked.GetProperty("acknowledged_by").GetString());

        var active = await service.GetAsync("/api/alerts");
        Assert.Contains("\"ana\"", active, StringComparison.Ordinal);

        // A second alert, acknowledged over HTTP.
        await _sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0008", $$$"""{"ts":{{{t}}},"values":{"o2_pct":18.5}}""");
        await Poll.UntilAsync(async () => (await service.GetAsync("/api/alerts")).Contains("gas-0008/o2-low", StringComparison.Ordinal), "the o2-low alert listed");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{service.HttpPort}/api/alerts/kukes/t03/gas-0008/o2-low/ack"))
        {
            Content = JsonContent.Create(new { by = "bo", note = "evacuated" }),
        };
        request.Headers.Add("X-Api-Key", IngestionService.ApiKey);
        using var response = await service.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM alerts WHERE state = 'acknowledged'"), r => r.Count == 2, "both acknowledgements in InfluxDB");
        Assert.Equal(["ana", "bo"], rows.Select(r => r["acknowledged_by"].GetString()).Order());
    }

    // An acknowledgement published with the retain flag acknowledges the alert then; but the broker keeps it and sends
    // it again to every new subscription, so after a restart with a fresh session it would acknowledge, silently, a
    // later episode of the alert (and stop its red repeats). A retained copy is ignored, and said so.
    [Fact]
    public async Task RetainedAcknowledgement_AfterARestart_DoesNotAcknowledgeALaterEpisode()
    {
        var service = await StartAsync();
        var t = Feed.BaseMs() + 3_000_000;
        await PublishCh4Async(service, t, 30);
        await EventsAsync(service, 1, "raised red");
        var ack = $"{service.AlertsRoot}/ack/kukes/t03/{Sensor}/ch4-lel";
        await _sensor.PublishAsync(ack, """{"by":"ana"}""", retain: true);
        await EventsAsync(service, 2, "acknowledged");
        await PublishCh4Async(service, t + 1_000, 0);
        await EventsAsync(service, 3, "cleared");
        await PublishCh4Async(service, t + 2_000, 30);
        await EventsAsync(service, 4, "raised again");

        // A fresh session (its expiry passed, or another client id): the broker sends the retained messages again.
        service.Set("Telemetry__Mqtt__ClientId", "fresh-" + Guid.NewGuid().ToString("N")[..8]);
        await service.RestartAsync();
        await Poll.UntilAsync(() => service.Output.Contains($"Ignored a retained acknowledgement on {ack}", StringComparison.Ordinal) || Events(service).Count > 4,
            "the retained acknowledgement handled");
        Assert.Equal(4, Events(service).Count);
        Assert.Contains("\"acknowledged_by\":null", await service.GetAsync("/api/alerts"), StringComparison.Ordinal);
        await _sensor.PublishAsync(ack, [], retain: true);
    }

    [Fact]
    public async Task FlappingSensor_EveryEventInInfluxAndTheLog_MqttInOrderWithTheNewestStateLast()
    {
        // 2,000 raise/clear pairs: 4,000 events, ~1 MB of log lines (the service writes its log lines in groups).
        const int Pairs = 2_000;
        var service = await StartAsync();
        var t = Feed.BaseMs() + 3_000_000;
        for (var i = 0; i < Pairs; i++)
        {
            // 100 ms apart: the last reading is still in the past, not rejected as from the future.
            await PublishCh4Async(service, t + (2 * i * 100), 21);
            await PublishCh4Async(service, t + (((2 * i) + 1) * 100), 3);
        }

        // The records keep every event.
        await Poll.UntilAsync(async () => await _influx.CountAsync(_db, "alerts", "message") == 2 * Pairs, "every event in InfluxDB");
        await Poll.UntilAsync(() => service.Output.Split('\n').Count(l => l.Contains($"Alert kukes/t03/{Sensor}/ch4-lel ", StringComparison.Ordinal)) == 2 * Pairs,
            "every event in the log");
        Assert.Equal(2 * Pairs, await _influx.CountAsync(_db, "gas", "ch4_lel_pct"));
        foreach (var channel in new[] { "influxdb", "log" })
        {
            await Poll.UntilAsync(async () => await service.MetricAsync(Outcome(channel, "delivered")) == 2 * Pairs, $"{channel}: every event counted as delivered");
        }

        // MQTT gets every event while it keeps up; if it falls more than a group behind (a busy machine), an event
        // still waiting is replaced by the alert's newer one. Either way each one is accounted for, what arrives is in
        // order, and the last is the alert's newest state.
        await Poll.UntilAsync(async () => await service.MetricAsync(Outcome("mqtt", "delivered")) + await service.MetricAsync(Outcome("mqtt", "superseded")) == 2 * Pairs,
            "mqtt: every event delivered or superseded");
        var delivered = (int)await service.MetricAsync(Outcome("mqtt", "delivered"));
        var events = await Poll.ForAsync(() => Task.FromResult(Events(service)), e => e.Count >= delivered, "the delivered events on MQTT");
        Assert.Equal(delivered, events.Count);
        // Each publish is timed to its PUBACK (a cleared event is two publishes: the event and the retained state's removal).
        Assert.InRange(await service.MetricAsync("telemetry_alert_publish_duration_seconds_count"), delivered, 2 * delivered);
        var times = events.Select(e => e.GetProperty("ts").GetDateTimeOffset()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.Equal(times.Count, times.Distinct().Count());
        Assert.Equal("cleared", events[^1].GetProperty("state").GetString());
        Assert.Equal(t + (((2 * Pairs) - 1) * 100), times[^1].ToUnixTimeMilliseconds());
        foreach (var channel in new[] { "mqtt", "influxdb", "log" })
        {
            Assert.Equal(0, await service.MetricAsync(Outcome(channel, "dropped")));
        }
        Assert.Equal(2 * Pairs, await service.MetricAsync("telemetry_alert_events_total"));

        // At shutdown each channel's totals are the last lines of the (grouped) log: nothing left behind in its buffer.
        service.Process.Signal(ServerProcess.SigTerm);
        Assert.Equal(0, await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        Assert.Contains($"Alert channel mqtt at shutdown: {delivered} delivered, {(2 * Pairs) - delivered} superseded, 0 dropped, 0 failed", service.Output, StringComparison.Ordinal);
        Assert.Contains($"Alert channel log at shutdown: {2 * Pairs} delivered, 0 superseded, 0 dropped, 0 failed", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlappingSensor_BeyondTheMqttBound_PublishesTheNewestState_AndTheRecordsKeepEveryEvent()
    {
        // One event a second after a burst of two (Telemetry:Alerts:MqttEventsPerSecond).
        var service = await StartAsync(extra: new() { ["Telemetry__Alerts__MqttEventsPerSecond"] = "1" });
        var t = Feed.BaseMs() + 3_000_000;
        const int Flips = 19;
        await PublishCh4Async(service, t, 4);
        for (var i = 1; i <= Flips; i++)
        {
            await PublishCh4Async(service, t + (i * 1000), i % 2 == 1 ? 12 : 4);
        }

        // The records: every raise and clear.
        await Poll.UntilAsync(async () => await _influx.CountAsync(_db, "alerts", "message") == Flips, "every event in InfluxDB");
        // MQTT: the first at once (the burst holds two), then in order up to the alert's newest state, which is what
        // the retained message holds.
        await Poll.UntilAsync(async () => await service.MetricAsync(Outcome("mqtt", "delivered")) + await service.MetricAsync(Outcome("mqtt", "superseded")) == Flips,
            "mqtt: every event delivered or superseded");
        var delivered = (int)await service.MetricAsync(Outcome("mqtt", "delivered"));
        var events = await Poll.ForAsync(() => Task.FromResult(Events(service)), e => e.Count >= delivered, "the delivered events on MQTT");
        Assert.InRange(delivered, 2, Flips - 1);
        // The operator is told why: the log names the bound and its setting.
        await Poll.UntilAsync(() => service.Output.Contains("Alert channel mqtt is at its bound of 1 events a second (Telemetry:Alerts:MqttEventsPerSecond)", StringComparison.Ordinal),
            "the log line naming the bound");
        var times = events.Select(e => e.GetProperty("ts").GetDateTimeOffset().ToUnixTimeMilliseconds()).ToList();
        Assert.Equal(t + 1000, times[0]);
        Assert.Equal(times.Order(), times);
        Assert.Equal(("raised", t + (Flips * 1000)), (events[^1].GetProperty("state").GetString(), events[^1].GetProperty("ts").GetDateTimeOffset().ToUnixTimeMilliseconds()));
        await using var late = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await late.SubscribeAsync($"{service.AlertsRoot}/kukes/t03/{Sensor}/ch4-lel");
        var retained = await Poll.ForAsync(() => Task.FromResult(late.Received.ToList()), r => r.Count > 0, "the retained alert");
        Assert.Equal(t + (Flips * 1000), JsonDocument.Parse(retained[0].Payload).RootElement.GetProperty("ts").GetDateTimeOffset().ToUnixTimeMilliseconds());
    }

    private static string Outcome(string channel, string outcome) => $"telemetry_alert_channel_events_total{{channel=\"{channel}\",outcome=\"{outcome}\"}}";

    [Fact]
    public async Task DatabaseDown_AlertsStillGoOut()
    {
        var service = await StartAsync(influxUrl: $"http://127.0.0.1:{FreePort.Next()}");
        await PublishCh4Async(service, Feed.BaseMs() + 3_000_000, 21);
        var e = (await EventsAsync(service, 1, "an alert while InfluxDB is unreachable"))[0];
        Assert.Equal("red", e.GetProperty("level").GetString());
    }

    [Fact]
    public async Task Restart_NeitherForgetsNorRaisesAgain()
    {
        var service = await StartAsync();
        var t = Feed.BaseMs() + 3_000_000;
        await PublishCh4Async(service, t, 15);
        await EventsAsync(service, 1, "raised");
        await service.RestartAsync();
        await PublishCh4Async(service, t + 1000, 16);
        await PublishCh4Async(service, t + 2000, 25);
        var events = await EventsAsync(service, 2, "escalated after the restart");
        Assert.Equal(["raised", "escalated"], events.Select(e => e.GetProperty("state").GetString()));
        Assert.Contains($"{Sensor}/ch4-lel", await service.GetAsync("/api/alerts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StrictRegistry_RefusesUnknownSensors_AndAddsTheZoneTag()
    {
        using var dir = new TempDir("registry");
        var file = dir.Combine("registry.yaml");
        await File.WriteAllTextAsync(file, """
            sensors:
              - { site: kukes, tunnel: t03, kind: gas, sensor: gas-0007, zone: north-portal, chainage_m: 120 }
            """);
        var service = await StartAsync(extra: new() { ["Telemetry__Registry__File"] = file, ["Telemetry__Registry__Strict"] = "true" });
        var t = Feed.BaseMs();
        await PublishCh4Async(service, t, 1);
        await _sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/spoofed", $$$"""{"ts":{{{t}}},"values":{"ch4_lel_pct":1}}""");

        var gas = Assert.Single(await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM gas"), r => r.Count == 1, "the registered sensor's reading"));
        Assert.Equal("north-portal", gas["zone"].GetString());
        var rejected = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM rejected"), r => r.Count == 1, "the spoofed sensor's rejection");
        Assert.Equal("unknown_sensor", rejected[0]["reason"].GetString());
    }
}
