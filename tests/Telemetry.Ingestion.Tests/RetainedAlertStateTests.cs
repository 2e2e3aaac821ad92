using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>
/// SPEC §7.4: "The current state of an active alert is retained there, so a safety officer's app that connects later
/// sees every active alert at once." An alert raised while the broker was briefly away must still be retained once the
/// broker is back; a publish that failed once must not hide an active alert for good.
/// </summary>
[Collection("faults")]
public sealed class RetainedAlertStateTests : IAsyncLifetime
{
    private MosquittoServer _broker = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        _broker = await MosquittoServer.StartAsync(persistence: true);
        _owned.Add(_broker);
    }

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_owned))
        {
            await d.DisposeAsync();
        }
    }

    [Fact]
    public async Task AlertRaisedWhileTheBrokerWasDown_IsRetainedOnceTheBrokerIsBack()
    {
        var service = new IngestionService(_broker.Host, _broker.Port, null, "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Alerts__Rules__sensor-stale__After"] = "00:00:03",
        });
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        await using (var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"o2_pct":20.9}}""");
        }
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_readings_accepted_total") == 1, "the reading accepted");

        // The broker goes away for a moment; meanwhile the silent sensor goes stale (clock-driven, SPEC §7.5).
        await _broker.StopAsync();
        await Poll.UntilAsync(async () => (await service.GetAsync("/api/alerts")).Contains("gas-0007/sensor-stale", StringComparison.Ordinal),
            "the stale alert to be active");
        await _broker.StartAgainAsync();
        await Poll.UntilAsync(() => service.Output.Split("Connected to MQTT broker").Length > 2, "the service to reconnect");
        await service.WaitReadyAsync();

        // The event reaches a subscriber (live, or retained if it was published before it subscribed); once it has,
        // an app that connects later must get it retained.
        await using var watcher = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await watcher.SubscribeAsync(service.AlertsRoot + "/#");
        try
        {
            await Poll.UntilAsync(() => watcher.Received.Any(m => m.Topic.EndsWith("/gas-0007/sensor-stale", StringComparison.Ordinal)),
                "the stale alert's event on MQTT", TimeSpan.FromSeconds(20));
            await using var officer = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
            await officer.SubscribeAsync(service.AlertsRoot + "/#");
            await Poll.UntilAsync(() => officer.Received.Any(m => m.Retain && m.Topic.EndsWith("/gas-0007/sensor-stale", StringComparison.Ordinal)),
                "the active stale alert retained on MQTT");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; active: {await service.GetAsync("/api/alerts")}\n{service.Process.Tail(20)}", ex);
        }
    }

    // Zero-setup mode: the embedded broker keeps retained messages in memory, so after a restart the service itself must
    // state its restored active alerts again, or a safety officer's app connecting then sees none of them.
    [Fact]
    public async Task EmbeddedBroker_ActiveAlertsRestoredAtRestart_AreRetainedAgain()
    {
        var port = FreePort.Next();
        var service = new IngestionService(null, port, null, "unused");
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        await using (var sensor = await MqttTestClient.ConnectAsync("127.0.0.1", port))
        {
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"ch4_lel_pct":25}}""");
        }
        await Poll.UntilAsync(async () => (await service.GetAsync("/api/alerts")).Contains("gas-0007/ch4-lel", StringComparison.Ordinal), "the red methane alert");

        await service.RestartAsync();
        // Stated again (seen live, or retained if before this subscription); then an app connecting later gets it retained.
        await using var watcher = await MqttTestClient.ConnectAsync("127.0.0.1", port);
        await watcher.SubscribeAsync(service.AlertsRoot + "/#");
        await Poll.UntilAsync(() => watcher.Received.Any(m => m.Topic.EndsWith("/gas-0007/ch4-lel", StringComparison.Ordinal)),
            "the restored active alert on MQTT", TimeSpan.FromSeconds(15));
        await using var officer = await MqttTestClient.ConnectAsync("127.0.0.1", port);
        await officer.SubscribeAsync(service.AlertsRoot + "/#");
        await Poll.UntilAsync(() => officer.Received.Any(m => m.Retain && m.Topic.EndsWith("/gas-0007/ch4-lel", StringComparison.Ordinal)),
            "the restored active alert retained on MQTT");
        var state = officer.Received.Last(m => m.Topic.EndsWith("/gas-0007/ch4-lel", StringComparison.Ordinal));
        Assert.Contains("\"state\":\"raised\"", state.Text, StringComparison.Ordinal);
        Assert.Contains("\"level\":\"red\"", state.Text, StringComparison.Ordinal);
    }

    // A broker that keeps retained messages across the service's restarts: a raise saved just before a crash but never
    // published leaves no retained alert, and a clear saved but not published leaves the alert retained as active. At
    // start the service compares the broker's retained alerts with the state it restored, and says what they lack.
    [Fact]
    public async Task TransitionsACrashKeptFromMqtt_AreBroughtToTheRetainedStateAtRestart()
    {
        var service = new IngestionService(_broker.Host, _broker.Port, null, "unused");
        _owned.Add(service);
        await service.StartAndWaitReadyAsync();
        await using var watcher = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await watcher.SubscribeAsync(service.AlertsRoot + "/#");
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        await using (var sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{now - 2000}}},"values":{"co_ppm":150}}""");
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0008", $$$"""{"ts":{{{now - 2000}}},"values":{"co_ppm":150}}""");
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0008", $$$"""{"ts":{{{now - 1000}}},"values":{"co_ppm":5}}""");
        }
        var raised = $"{service.AlertsRoot}/kukes/t03/gas-0007/co-instant";
        var cleared = $"{service.AlertsRoot}/kukes/t03/gas-0008/co-instant";
        await Poll.UntilAsync(() => watcher.Received.Any(m => m.Topic == cleared && m.Text.Contains("\"cleared\"", StringComparison.Ordinal))
            && watcher.Received.Any(m => m.Topic == raised), "the raise and the clear on MQTT");
        var oldRaise = watcher.Received.First(m => m.Topic == cleared && m.Text.Contains("\"raised\"", StringComparison.Ordinal)).Payload;
        await service.Process.StopAsync();

        // What the broker would hold had the service died before those publishes.
        await using (var tamper = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            await tamper.PublishAsync(raised, [], retain: true);
            await tamper.PublishAsync(cleared, oldRaise, retain: true);
        }
        var before = watcher.Received.Count;
        service.Renew();
        await service.StartAndWaitReadyAsync();
        // The watcher, subscribed throughout, sees the raise stated again, and the clear with the retained alert's removal.
        await Poll.UntilAsync(() => watcher.Received.Skip(before).Any(m => m.Topic == raised && m.Payload.Length > 0)
            && watcher.Received.Skip(before).Any(m => m.Topic == cleared && m.Payload.Length == 0), "the corrections on MQTT");
        Assert.Contains("2 brought up to date", service.Output, StringComparison.Ordinal);

        await using var officer = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await officer.SubscribeAsync(service.AlertsRoot + "/#");
        await Poll.UntilAsync(() => officer.Received.Any(m => m.Retain && m.Topic == raised), "the active alert retained again");
        Assert.Contains("\"level\":\"red\"", officer.Received.First(m => m.Topic == raised).Text, StringComparison.Ordinal);
        // Retained messages come at the subscription, before anything published after it: a marker closes them.
        var marker = $"{service.AlertsRoot}/marker/x/y/z";
        await using (var tamper = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port))
        {
            await tamper.PublishAsync(marker, "end");
        }
        await Poll.UntilAsync(() => officer.Received.Any(m => m.Topic == marker), "the marker");
        Assert.DoesNotContain(officer.Received, m => m.Topic == cleared);
    }

    // A broker whose ACL does not let the service read its alerts back grants the subscription and delivers nothing: the
    // service must not take that for "nothing retained" and state every active alert again at each restart.
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task AlertsNotReadableByTheServiceAccount_NothingIsStatedAgainAtRestart()
    {
        using var dir = new TempDir("acl");
        var service = new IngestionService("127.0.0.1", 0, null, "unused", new Dictionary<string, string?> { ["Telemetry__Mqtt__Username"] = "ingestion" });
        _owned.Add(service);
        // Everyone else (the test's sensor and watcher) may do anything; the service may read readings, write alerts.
        var acl = dir.Combine("acl");
        await File.WriteAllTextAsync(acl, $"""
            topic readwrite #
            user ingestion
            topic read {service.TopicRoot}/#
            topic write {service.AlertsRoot}/#
            """);
        // mosquitto started as root reads it after dropping to its own user.
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(acl, (UnixFileMode)0b110_100_100);
        var broker = await MosquittoServer.StartAsync(persistence: true, extraConfig: [$"acl_file {acl}"]);
        _owned.Add(broker);
        service.Set("Telemetry__Mqtt__Port", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        service.Renew();
        await service.StartAndWaitReadyAsync();
        await using var watcher = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        await watcher.SubscribeAsync(service.AlertsRoot + "/#");
        await using (var sensor = await MqttTestClient.ConnectAsync(broker.Host, broker.Port))
        {
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
            await sensor.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{now}}},"values":{"co_ppm":150}}""");
        }
        var topic = $"{service.AlertsRoot}/kukes/t03/gas-0007/co-instant";
        await Poll.UntilAsync(() => watcher.Received.Any(m => m.Topic == topic), "the raise on MQTT");

        await service.RestartAsync();
        await Poll.UntilAsync(() => service.Output.Contains("Cannot read the retained alerts", StringComparison.Ordinal), "the warning");
        Assert.Single(watcher.Received, m => m.Topic == topic);
    }
}
