using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Alerting.Api;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Notifications;
using Telemetry.Alerting.State;
using Telemetry.Alerting.Tests.Notifications;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Api;

public sealed class AlertServiceTests
{
    private static readonly SensorAddress Gas = new("kukes", "t03", SensorKind.Gas, "gas-0007");
    private static readonly SensorAddress Other = new("kukes", "t03", SensorKind.Gas, "gas-0008");

    private static Dictionary<string, string?> OnlyCoInstant() => DefaultRules.All.Where(r => r.Id != "co-instant")
        .ToDictionary(r => $"Telemetry:Alerts:Rules:{r.Id}:Enabled", _ => (string?)"false");

    [Fact]
    public async Task Api_AcknowledgeNeedsTheKey_AndListsTheAcknowledgement()
    {
        using var dir = new TempDir("alerts-api");
        var recording = new RecordingChannel();
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"), OnlyCoInstant(), s => s.AddSingleton<IAlertChannel>(recording));
        Assert.True(host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]));
        await Poll.UntilAsync(async () => (await host.Http.GetFromJsonAsync<JsonElement>("/api/alerts")).GetArrayLength() == 1, "the alert to be listed");

        const string ack = "/api/alerts/kukes/t03/gas-0007/co-instant/ack";
        var body = JsonContent.Create(new { by = "ana", note = "crew out" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.PostAsync(ack, body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(host, HttpMethod.Post, ack, body, "wrong-key")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(host, HttpMethod.Post, "/api/alerts/kukes/t03/gas-0007/co-stel/ack", body)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(host, HttpMethod.Post, ack, JsonContent.Create(new { note = "who?" }))).StatusCode);
        var ok = await Send(host, HttpMethod.Post, ack, body);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        var listed = (await host.Http.GetFromJsonAsync<JsonElement>("/api/alerts"))[0];
        Assert.Equal("kukes/t03/gas-0007/co-instant", listed.GetProperty("alert_id").GetString());
        Assert.Equal("red", listed.GetProperty("level").GetString());
        Assert.True(listed.GetProperty("acknowledged").GetBoolean());
        Assert.Equal("ana", listed.GetProperty("acknowledged_by").GetString());
        Assert.Equal("crew out", listed.GetProperty("note").GetString());

        await Poll.UntilAsync(() => recording.Events.Count == 2, "the acknowledged event on the channels");
        var acked = recording.Events.Last();
        Assert.Equal((AlertState.Acknowledged, "red", "ana"), (acked.State, acked.Level, acked.AcknowledgedBy));
        Assert.Equal(HttpStatusCode.OK, (await Send(host, HttpMethod.Post, ack, JsonContent.Create(new { by = "bob" }))).StatusCode);
        Assert.Equal("ana", (await host.Http.GetFromJsonAsync<JsonElement>("/api/alerts"))[0].GetProperty("acknowledged_by").GetString());
    }

    [Fact]
    public async Task Api_Silences_CreateListExpireDelete()
    {
        using var dir = new TempDir("alerts-api");
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"));
        var request = JsonContent.Create(new { site = "kukes", tunnel = "t03", rule = "co-instant", duration = "2h", created_by = "ana", comment = "calibration" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.PostAsync("/api/silences", request)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(host, HttpMethod.Post, "/api/silences", JsonContent.Create(new { duration = "2h", created_by = "ana" }))).StatusCode);
        var created = await Send(host, HttpMethod.Post, "/api/silences", request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        var list = await host.Http.GetFromJsonAsync<JsonElement>("/api/silences");
        Assert.Equal(id, Assert.Single(list.EnumerateArray()).GetProperty("id").GetString());

        Assert.Equal(HttpStatusCode.OK, (await Send(host, HttpMethod.Post, $"/api/silences/{id}/expire", null)).StatusCode);
        Assert.False(Assert.Single(host.Alerts.Silences()).IsActive(TimeProvider.System.GetUtcNow()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.DeleteAsync($"/api/silences/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(host, HttpMethod.Delete, $"/api/silences/{id}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(host, HttpMethod.Delete, $"/api/silences/{id}", null)).StatusCode);
        Assert.Empty(host.Alerts.Silences());
    }

    [Fact]
    public async Task Silence_HoldsBackTheWebhook_ButNotMqtt()
    {
        using var dir = new TempDir("alerts-silence");
        await using var receiver = await WebhookReceiver.StartAsync();
        var mqtt = new RecordingChannel();
        var influx = new RecordingChannel();
        var settings = OnlyCoInstant();
        settings["Telemetry:Alerts:Webhooks:0:Url"] = receiver.Url;
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"), settings, s =>
        {
            s.AddSingleton<IMqttPublisher>(mqtt);
            s.AddSingleton<IAlertPointWriter>(influx);
        });
        Assert.Equal(["log", "mqtt", "influxdb", "webhook-0"], host.App.Services.GetRequiredService<AlertService>().ChannelNames);
        var now = TimeProvider.System.GetUtcNow();
        await host.Alerts.AddSilenceAsync(new Silence { Id = "s1", Sensor = "gas-0007", StartsAt = now.AddMinutes(-1), EndsAt = now.AddHours(1), CreatedBy = "ana" });

        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
        host.Pipeline.Post(Other, [AlertHost.Now(Field.CoPpm, 150)]);

        // The webhook's queue is in order: once the second alert arrived, the first would have too, had it not been silenced.
        await Poll.UntilAsync(() => !receiver.Deliveries.IsEmpty, "the unsilenced alert's webhook");
        var delivered = Assert.Single(receiver.Deliveries);
        Assert.Equal("gas-0008", JsonDocument.Parse(delivered.Body).RootElement.GetProperty("sensor").GetString());
        await Poll.UntilAsync(() => mqtt.Published.Count == 2, "both alerts on MQTT");
        Assert.Contains(mqtt.Published, p => p.Topic == "alerts/kukes/t03/gas-0007/co-instant" && p.Retain);
        await Poll.UntilAsync(() => influx.Events.Count == 2, "both alerts written to InfluxDB");
        Assert.Equal(1, host.App.Services.GetRequiredService<AlertMetrics>().Channel("webhook-0", "silenced"));
    }

    [Fact]
    public async Task Readings_ThroughTheService_ReachARealBrokerAsTheSpecEventJson()
    {
        using var dir = new TempDir("alerts-mqtt");
        await using var broker = await MosquittoServer.StartAsync();
        await using var publisher = await MqttNetPublisher.ConnectAsync(broker);
        var root = "alerts-" + Guid.NewGuid().ToString("N")[..8];
        var settings = OnlyCoInstant();
        settings["Telemetry:Alerts:TopicRoot"] = root;
        await using var probe = await MqttProbe.SubscribeAsync(broker, $"{root}/#");
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"), settings, s => s.AddSingleton<IMqttPublisher>(publisher));

        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 40)]);
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 112.4, TimeSpan.FromMilliseconds(1))]);
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 1, TimeSpan.FromMilliseconds(2))]);
        var seen = await Poll.ForAsync(() => Task.FromResult(probe.Received.ToList()), l => l.Count >= 4, "raised, escalated, cleared and the removal");
        Assert.All(seen, m => Assert.Equal($"{root}/kukes/t03/gas-0007/co-instant", m.Topic));
        Assert.Equal(["raised", "escalated", "cleared", ""],
            seen.Select(m => m.Payload.Length == 0 ? "" : JsonDocument.Parse(m.Payload).RootElement.GetProperty("state").GetString()));
        using var escalated = JsonDocument.Parse(seen[1].Payload);
        var e = escalated.RootElement;
        Assert.Equal(("kukes/t03/gas-0007/co-instant", "escalated", "red", "amber", 112.4, 100.0, "CO 112.4 ppm is above the red level 100 ppm"),
            (e.GetProperty("alert_id").GetString(), e.GetProperty("state").GetString(), e.GetProperty("level").GetString(), e.GetProperty("previous_level").GetString(),
             e.GetProperty("value").GetDouble(), e.GetProperty("threshold").GetDouble(), e.GetProperty("message").GetString()));
        Assert.Equal("", seen[3].Payload);
    }

    [Fact]
    public async Task Channels_AStuckChannel_DoesNotDelayTheOthers()
    {
        using var dir = new TempDir("alerts-isolation");
        var recording = new RecordingChannel();
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"), OnlyCoInstant(), s =>
        {
            s.AddSingleton<IAlertChannel>(new StuckChannel());
            s.AddSingleton<IAlertChannel>(recording);
        });
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromMilliseconds(1))]);
        await Poll.UntilAsync(() => recording.Events.Count == 2, "raised and cleared past the stuck channel");
    }

    [Fact]
    public async Task Restart_OfTheService_NeitherForgetsNorRaisesAgain()
    {
        using var dir = new TempDir("alerts-restart");
        var state = dir.Combine("data", "alerts-state.json");
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, OnlyCoInstant(), s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
            await Poll.UntilAsync(() => first.Events.Count == 1, "the alert before the restart");
            await host.Alerts.AcknowledgeAsync("kukes/t03/gas-0007/co-instant", "ana", null);
        }
        Assert.True(File.Exists(state));

        var second = new RecordingChannel();
        await using var again = await AlertHost.StartAsync(state, OnlyCoInstant(), s => s.AddSingleton<IAlertChannel>(second));
        Assert.Equal("ana", Assert.Single(again.Alerts.ActiveAlerts()).AcknowledgedBy);
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, TimeSpan.FromSeconds(1))]);
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromSeconds(2))]);
        await Poll.UntilAsync(() => !second.Events.IsEmpty, "the clear after the restart");
        Assert.Equal([AlertState.Cleared], second.Events.Select(e => e.State));
    }

    [Fact]
    public async Task Crash_AfterATransition_NeitherForgetsNorRaisesAgain()
    {
        // A crash is the files as they are on disk once an event has gone out: copied while the service runs, long
        // before its next whole-state snapshot (SaveInterval 1 h), so only the journal can hold the transition.
        using var dir = new TempDir("alerts-crash");
        var (state, crashed, settings) = CrashSetup(dir);
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, settings, s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
            host.Pipeline.Post(Other, [AlertHost.Now(Field.CoPpm, 40)]);
            await Poll.UntilAsync(() => first.Events.Count == 2, "both alerts before the crash");
            Assert.False(File.Exists(state), "no snapshot yet: the test would not test the journal");
            CopyStateFiles(state, crashed);
        }

        var second = new RecordingChannel();
        await using var again = await AlertHost.StartAsync(crashed, settings, s => s.AddSingleton<IAlertChannel>(second));
        Assert.Equal(["kukes/t03/gas-0007/co-instant", "kukes/t03/gas-0008/co-instant"], again.Alerts.ActiveAlerts().Select(a => a.AlertId));
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, TimeSpan.FromSeconds(1))]);
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromSeconds(2))]);
        await Poll.UntilAsync(() => !second.Events.IsEmpty, "the clear after the crash");
        Assert.Equal([AlertState.Cleared], second.Events.Select(e => e.State));
    }

    [Fact]
    public async Task Crash_WithASnapshotAndALaterJournal_RestoresTheNewest()
    {
        using var dir = new TempDir("alerts-crash");
        var (state, crashed, settings) = CrashSetup(dir);
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, settings, s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
            await Poll.UntilAsync(() => first.Events.Count == 1, "the raise");
            // An acknowledgement writes the whole state (a snapshot) and starts the journal again.
            await host.Alerts.AcknowledgeAsync("kukes/t03/gas-0007/co-instant", "ana", null);
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromSeconds(1))]);
            host.Pipeline.Post(Other, [AlertHost.Now(Field.CoPpm, 40, TimeSpan.FromSeconds(1))]);
            await Poll.UntilAsync(() => first.Events.Count(e => e.State != AlertState.Acknowledged) == 3, "the clear and the second raise");
            CopyStateFiles(state, crashed);
        }
        // A write cut off by the crash: half a record, no newline. It is left out, and the rest still counts.
        await File.AppendAllTextAsync(crashed + ".journal", "{\"q\":99,\"c\":[{\"Site\":\"ku");

        var second = new RecordingChannel();
        await using var again = await AlertHost.StartAsync(crashed, settings, s => s.AddSingleton<IAlertChannel>(second));
        Assert.Equal("kukes/t03/gas-0008/co-instant", Assert.Single(again.Alerts.ActiveAlerts()).AlertId);
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromSeconds(2))]);
        again.Pipeline.Post(Other, [AlertHost.Now(Field.CoPpm, 40, TimeSpan.FromSeconds(2))]);
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, TimeSpan.FromSeconds(3))]);
        await Poll.UntilAsync(() => second.Events.Any(e => e.AlertId == "kukes/t03/gas-0007/co-instant"), "the new raise after the crash");
        var e = Assert.Single(second.Events);
        Assert.Equal(("kukes/t03/gas-0007/co-instant", AlertState.Raised), (e.AlertId, e.State));
    }

    [Fact]
    public async Task Crash_AfterAFlappingSensor_ABacklogOfAnEpisodeAlreadyReportedStaysQuiet()
    {
        // Twenty episodes, the first ten in one batch. A journal record carries a rule's newest episodes only, so the
        // replay must merge them into every episode the engine kept (the newest sixteen), or a backlog that repeats one
        // of them is reported as new.
        using var dir = new TempDir("alerts-crash");
        var (state, crashed, settings) = CrashSetup(dir);
        var start = TimeSpan.FromMinutes(-10);
        Reading At(int second, double co) => AlertHost.Now(Field.CoPpm, co, start + TimeSpan.FromSeconds(second));
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, settings, s => s.AddSingleton<IAlertChannel>(first)))
        {
            // Each batch is journaled before its events go out: waiting for them makes every batch a record of its own.
            host.Pipeline.Post(Gas, [.. Enumerable.Range(0, 10).SelectMany(k => new[] { At(10 * k, 150), At((10 * k) + 5, 0) })]);
            await Poll.UntilAsync(() => first.Events.Count == 20, "the first batch's ten raises and clears");
            for (var k = 10; k < 20; k++)
            {
                host.Pipeline.Post(Gas, [At(10 * k, 150)]);
                await Poll.UntilAsync(() => first.Events.Count == (2 * k) + 1, "a raise");
                host.Pipeline.Post(Gas, [At((10 * k) + 5, 0)]);
                await Poll.UntilAsync(() => first.Events.Count == (2 * k) + 2, "a clear");
            }
            Assert.False(File.Exists(state), "no snapshot yet: the test would not test the journal");
            CopyStateFiles(state, crashed);
        }

        var second = new RecordingChannel();
        await using var again = await AlertHost.StartAsync(crashed, settings, s => s.AddSingleton<IAlertChannel>(second));
        // A logger's backlog repeating the episodes at 50-55 s (from the first batch) and 150-155 s (a later one).
        again.Pipeline.Post(Gas, [At(49, 0), At(50, 150), At(55, 0)]);
        again.Pipeline.Post(Gas, [At(149, 0), At(150, 150), At(155, 0)]);
        again.Pipeline.Post(Gas, [At(300, 150)]);
        await Poll.UntilAsync(() => !second.Events.IsEmpty, "the live raise after the backlog");
        var e = Assert.Single(second.Events);
        Assert.Equal((AlertState.Raised, false), (e.State, e.Backlog));
    }

    [Fact]
    public async Task Crash_MidWrite_ThenAgain_KeepsWhatWasJournaledBetween()
    {
        // The first crash cut a journal write off, with nothing else to replay. What the service journals after
        // restarting must still be read after a second crash: appended after the cut-off bytes, it would be unreadable.
        using var dir = new TempDir("alerts-crash");
        var (_, crashed, settings) = CrashSetup(dir);
        Directory.CreateDirectory(Path.GetDirectoryName(crashed)!);
        await File.WriteAllTextAsync(crashed + ".journal", "{\"q\":1,\"c\":[{\"Site\":\"ku");
        var again = dir.Combine("again", "alerts-state.json");
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(crashed, settings, s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
            await Poll.UntilAsync(() => first.Events.Count == 1, "the raise after the first crash");
            CopyStateFiles(crashed, again);
        }

        var second = new RecordingChannel();
        await using var restarted = await AlertHost.StartAsync(again, settings, s => s.AddSingleton<IAlertChannel>(second));
        Assert.Equal("kukes/t03/gas-0007/co-instant", Assert.Single(restarted.Alerts.ActiveAlerts()).AlertId);
    }

    [Fact]
    public async Task Snapshot_StuckOnTheDisk_HoldsUpNoAlert_AndACrashMeanwhileLosesNothing()
    {
        // The snapshot's temporary file is a named pipe: writing it waits until someone reads, as on a disk that hangs.
        using var dir = new TempDir("alerts-stuck-disk");
        var (state, crashed, settings) = CrashSetup(dir);
        settings["Telemetry:Alerts:SaveInterval"] = "00:00:00.100";
        Directory.CreateDirectory(Path.GetDirectoryName(state)!);
        var pipe = state + ".tmp";
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, settings, s => s.AddSingleton<IAlertChannel>(first)))
        {
            // Readers in processes of their own: .NET's own file lock on the reading end would fight the snapshot's.
            System.Diagnostics.Process? holder = null;
            try
            {
                host.Pipeline.Post(Other, [AlertHost.Now(Field.CoPpm, 40)]);
                await Poll.UntilAsync(() => first.Events.Count == 1, "the raise before the snapshot");
                // The snapshot has set the journal so far apart and now waits on its file.
                await Poll.UntilAsync(() => File.Exists(state + ".journal.previous"), "the periodic snapshot to start");

                for (var i = 0; i < 2000; i++)
                {
                    host.Pipeline.Post(new SensorAddress("kukes", "t04", SensorKind.Gas, $"gas-{i:D4}"), [AlertHost.Now(Field.CoPpm, 5)]);
                }
                host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
                await Poll.UntilAsync(() => first.Events.Count == 2, "a raise while the snapshot cannot write");
                // The crash: the files as they are now, with no snapshot on disk.
                CopyStateFiles(state, crashed);

                // A reader that reads nothing: the snapshot writes, and is stuck once the pipe is full (the state of
                // 2,000 sensors is larger).
                holder = Shell("exec 3<\"$1\"; exec sleep 600", pipe);
                host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromMilliseconds(1))]);
                await Poll.UntilAsync(() => first.Events.Count == 3, "a clear while the snapshot is being written");
            }
            finally
            {
                // Let the snapshot end (a pipe cannot be flushed to a disk: it fails), and the one at shutdown write a file.
                using (var drain = Shell("cat \"$1\" >/dev/null", pipe))
                {
                    try
                    {
                        await drain.WaitForExitAsync().WaitAsync(Poll.DefaultTimeout);
                    }
                    finally
                    {
                        // No snapshot ever opened the pipe (the test failed before): leave no process behind.
                        drain.Kill(entireProcessTree: true);
                        holder?.Kill(entireProcessTree: true);
                        holder?.Dispose();
                        File.Delete(pipe);
                    }
                }
            }
        }
        Assert.Equal([AlertState.Raised, AlertState.Raised, AlertState.Cleared], first.Events.Select(e => e.State));

        var second = new RecordingChannel();
        await using var again = await AlertHost.StartAsync(crashed, settings, s => s.AddSingleton<IAlertChannel>(second));
        Assert.Equal(["kukes/t03/gas-0007/co-instant", "kukes/t03/gas-0008/co-instant"], again.Alerts.ActiveAlerts().Select(a => a.AlertId));
    }

    private static System.Diagnostics.Process Shell(string script, string argument)
    {
        var start = new System.Diagnostics.ProcessStartInfo("sh") { ArgumentList = { "-c", script, "sh", argument } };
        return System.Diagnostics.Process.Start(start)!;
    }

    // The live state file, where the crash copy goes, and settings with no whole-state snapshot for an hour.
    private static (string State, string Crashed, Dictionary<string, string?> Settings) CrashSetup(TempDir dir)
    {
        var settings = OnlyCoInstant();
        settings["Telemetry:Alerts:SaveInterval"] = "01:00:00";
        return (dir.Combine("live", "alerts-state.json"), dir.Combine("crashed", "alerts-state.json"), settings);
    }

    private static void CopyStateFiles(string state, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        foreach (var suffix in new[] { "", ".journal", ".journal.previous" })
        {
            if (File.Exists(state + suffix))
            {
                File.Copy(state + suffix, target + suffix);
            }
        }
    }

    [Fact]
    public async Task Start_WithInvalidRules_StopsNamingRuleAndField()
    {
        using var dir = new TempDir("alerts-invalid");
        await using var app = AlertHost.Build(dir.Combine("state.json"), new Dictionary<string, string?>
        {
            ["Telemetry:Alerts:Rules:co-instant:Red"] = "abc",
            ["Telemetry:Alerts:Rules:o2-low:Red"] = "20",
        });
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Telemetry:Alerts:Rules:co-instant:Red: 'abc' is not a number", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Telemetry:Alerts:Rules:o2-low:Red", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithAMissingRegistryFile_StopsNamingIt()
    {
        using var dir = new TempDir("alerts-invalid");
        var missing = dir.Combine("registry.yaml");
        await using var app = AlertHost.Build(dir.Combine("state.json"), new Dictionary<string, string?> { ["Telemetry:Registry:File"] = missing });
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains($"{missing}: file not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithAnUnreadableStateFile_KeepsItAsideAndStartsEmpty()
    {
        using var dir = new TempDir("alerts-corrupt");
        var state = dir.Combine("state.json");
        await File.WriteAllTextAsync(state, "{ not json");
        await using var host = await AlertHost.StartAsync(state);
        Assert.Empty(host.Alerts.ActiveAlerts());
        Assert.Single(Directory.GetFiles(dir.Path, "state.json.unreadable-*"));
    }

    [Fact]
    public async Task Start_WithAnInvalidWebhook_StopsNamingTheKey()
    {
        using var dir = new TempDir("alerts-invalid");
        await using var app = AlertHost.Build(dir.Combine("state.json"), new Dictionary<string, string?> { ["Telemetry:Alerts:Webhooks:0:Url"] = "not a url" });
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Telemetry:Alerts:Webhooks:0:Url", ex.Message, StringComparison.Ordinal);
    }

    // SPEC §8: on SIGTERM the service flushes what it holds. The queue takes far more than one batch, and every message
    // in it was acknowledged to the broker already.
    [Fact]
    public async Task Stop_WithMoreThanABatchQueued_EvaluatesEveryMessage()
    {
        using var dir = new TempDir("alerts-stop");
        var recording = new RecordingChannel();
        await using var app = AlertHost.Build(dir.Combine("state.json"), OnlyCoInstant(), s => s.AddSingleton<IAlertChannel>(recording));
        var pipeline = app.Services.GetRequiredService<IAlertPipeline>();
        for (var i = 0; i < 3000; i++)
        {
            Assert.True(pipeline.Post(new SensorAddress("kukes", "t03", SensorKind.Gas, $"gas-{i:D4}"), [AlertHost.Now(Field.CoPpm, 150)]));
        }
        // Run with its stop already requested, the service goes straight to its shutdown with all 3,000 queued.
        var service = (AlertService)pipeline;
        await service.RunAsync(new CancellationToken(canceled: true));
        Assert.Equal(3000, service.ActiveAlerts().Count);
    }

    [Fact]
    public async Task Post_WhenTheQueueStaysFull_WaitsThenDropsAndCounts()
    {
        using var dir = new TempDir("alerts-full");
        // Built, not started: nothing drains the queue.
        await using var app = AlertHost.Build(dir.Combine("state.json"), new Dictionary<string, string?>
        {
            ["Telemetry:Alerts:QueueCapacity"] = "16",
            ["Telemetry:Alerts:PostTimeout"] = "00:00:00.050",
        });
        var pipeline = app.Services.GetRequiredService<IAlertPipeline>();
        for (var i = 0; i < 16; i++)
        {
            Assert.True(pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 1, TimeSpan.FromMilliseconds(i))]));
        }
        Assert.False(pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 1, TimeSpan.FromSeconds(1))]));
        Assert.False(await pipeline.PostAsync(Gas, [AlertHost.Now(Field.CoPpm, 1, TimeSpan.FromSeconds(2))]));
        var metrics = app.Services.GetRequiredService<AlertMetrics>();
        Assert.Equal((2, 2), (metrics.QueueFull, metrics.Dropped));
    }

    private static Task<HttpResponseMessage> Send(AlertHost host, HttpMethod method, string path, HttpContent? body, string key = AlertHost.ApiKey)
    {
        var request = new HttpRequestMessage(method, path) { Content = body };
        request.Headers.Add(AlertsApi.ApiKeyHeader, key);
        return host.Http.SendAsync(request);
    }

    private const string AckPath = "/api/alerts/kukes/t03/gas-0007/co-instant/ack";

    // Only co-instant, and no periodic snapshot during a test: what is on disk is what a change itself saved.
    private static Dictionary<string, string?> SlowSnapshots()
    {
        var settings = OnlyCoInstant();
        settings["Telemetry:Alerts:SaveInterval"] = "01:00:00";
        return settings;
    }

    [Fact]
    public async Task Evaluated_WaitsUntilThePostedReadingsTransitionIsSaved_AndRefusesOnceTheServiceHasStopped()
    {
        using var dir = new TempDir("evaluated");
        var state = dir.Combine("live", "alerts-state.json");
        var recording = new RecordingChannel();
        var host = await AlertHost.StartAsync(state, SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(recording));
        var pipeline = host.Pipeline;
        try
        {
            // Nothing to save: done once evaluated.
            pipeline.Post(Other, [AlertHost.Now(Field.CoPpm, 5)]);
            await pipeline.EvaluatedAsync().WaitAsync(Poll.DefaultTimeout);

            // A journal that cannot be written yet (a FIFO: opening it waits for a reader), as on a stalled disk.
            Directory.CreateDirectory(Path.GetDirectoryName(state)!);
            var journal = state + ".journal";
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", journal))
            {
                await mkfifo.WaitForExitAsync();
                Assert.Equal(0, mkfifo.ExitCode);
            }
            pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
            var evaluated = pipeline.EvaluatedAsync();
            await Poll.UntilAsync(() => host.Alerts.ActiveAlerts().Count == 1, "the raise to be evaluated");
            // Evaluated, not saved: the ingestion must not acknowledge the reading yet (a crash now would forget the raise).
            Assert.False(evaluated.IsCompleted);
            Assert.Empty(recording.Events);

            using (var drain = Shell("cat \"$1\" >/dev/null", journal))
            {
                // A pipe cannot be flushed to a disk: the append fails and the whole state is saved instead.
                await evaluated.WaitAsync(Poll.DefaultTimeout);
                drain.Kill(entireProcessTree: true);
            }
            await Poll.UntilAsync(() => recording.Events.Count == 1, "the raise dispatched");
        }
        finally
        {
            await host.DisposeAsync();
        }

        // Stopped: what is posted now is never evaluated, so it must never be confirmed.
        pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromSeconds(1))]);
        await Assert.ThrowsAsync<InvalidOperationException>(pipeline.EvaluatedAsync);
        await using var again = await AlertHost.StartAsync(state, SlowSnapshots());
        Assert.Equal("kukes/t03/gas-0007/co-instant", Assert.Single(again.Alerts.ActiveAlerts()).AlertId);
    }

    // At start the service reads the broker's retained alerts and publishes what a crash kept from them. An event of an
    // alert dispatched during the read stands for it only when it changes what is retained: a backlog episode's events
    // (never retained) must not hold back the correction of the live alert's missing retained state.
    [Fact]
    public async Task RetainedRepair_ABacklogEventDuringTheRead_DoesNotHoldBackTheAlertsCorrection()
    {
        using var dir = new TempDir("retained-backlog");
        var state = dir.Combine("live", "alerts-state.json");
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, TimeSpan.FromSeconds(-10))]);
            await Poll.UntilAsync(() => first.Events.Count == 1, "the raise");
        }

        // Restarted against a broker that never got the raise (the crash came between saving and publishing it).
        var mqtt = new GatedRetainedPublisher();
        var recording = new RecordingChannel();
        await using var again = await AlertHost.StartAsync(state, SlowSnapshots(), s =>
        {
            s.AddSingleton<IMqttPublisher>(mqtt);
            s.AddSingleton<IAlertChannel>(recording);
        });
        await mqtt.Reading.Task.WaitAsync(Poll.DefaultTimeout);
        // While the broker is read, a logger's backlog shows an earlier CO peak of the same alert: history, not retained.
        again.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, TimeSpan.FromSeconds(-60)), AlertHost.Now(Field.CoPpm, 5, TimeSpan.FromSeconds(-59))]);
        await Poll.UntilAsync(() => recording.Events.Count(e => e.Backlog) == 2, "the backlog episode dispatched");
        mqtt.Retained.SetResult([]);

        const string topic = "alerts/kukes/t03/gas-0007/co-instant";
        await Poll.UntilAsync(() => mqtt.Published.Any(p => p.Topic == topic && p.Retain && p.Payload.Length > 0), "the active alert retained again");
    }

    // A logger's backlog in three arrays, the whole middle one in alarm: it carries the first array's episode on without
    // an event. Once EvaluatedAsync has let the ingestion acknowledge it, a crash must not forget that the episode now
    // reaches its end, or the third array, past MaxHold of the first, raises the reported episode a second time.
    [Fact]
    public async Task Backlog_AnEpisodeCarriedOnWithoutAnEvent_IsSavedBeforeItsMessageIsConfirmed()
    {
        using var dir = new TempDir("backlog-carried");
        var state = dir.Combine("live", "alerts-state.json");
        var crashed = dir.Combine("crashed", "alerts-state.json");
        var min = TimeSpan.FromMinutes(1);
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 5)]);
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 5, -60 * min), AlertHost.Now(Field.CoPpm, 150, -59 * min)]);
            await Poll.UntilAsync(() => first.Events.Count == 1, "the backlog raise");
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, -50 * min), AlertHost.Now(Field.CoPpm, 150, -40 * min)]);
            await host.Pipeline.EvaluatedAsync().WaitAsync(Poll.DefaultTimeout);
            CopyStateFiles(state, crashed); // SIGKILL now: the second array is acknowledged to the broker
        }

        var again = new RecordingChannel();
        await using var restarted = await AlertHost.StartAsync(crashed, SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(again));
        restarted.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150, -30 * min), AlertHost.Now(Field.CoPpm, 5, -29 * min)]);
        await restarted.Pipeline.EvaluatedAsync().WaitAsync(Poll.DefaultTimeout);
        await Poll.UntilAsync(() => again.Events.Any(e => e.State == AlertState.Cleared), "the episode's clear");
        Assert.Equal([AlertState.Cleared], again.Events.Select(e => e.State));
    }

    /// <summary>An MQTT publisher whose retained alerts are read only when the test says so.</summary>
    private sealed class GatedRetainedPublisher : IMqttPublisher
    {
        public TaskCompletionSource Reading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<IReadOnlyList<KeyValuePair<string, byte[]>>> Retained { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public System.Collections.Concurrent.ConcurrentQueue<(string Topic, byte[] Payload, bool Retain)> Published { get; } = new();

        public Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
        {
            Published.Enqueue((topic, payload, retain));
            return Task.CompletedTask;
        }

        public async Task<IReadOnlyList<KeyValuePair<string, byte[]>>?> RetainedAsync(string filter, CancellationToken ct)
        {
            Reading.TrySetResult();
            return await Retained.Task.WaitAsync(ct);
        }
    }

    [Fact]
    public async Task Ack_ConfirmedWith200_SurvivesACrash_EvenWhenTheSnapshotCannotBeWritten()
    {
        using var dir = new TempDir("ack-crash");
        var state = dir.Combine("live", "alerts-state.json");
        var crashed = dir.Combine("crashed", "alerts-state.json");
        var first = new RecordingChannel();
        await using (var host = await AlertHost.StartAsync(state, SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(first)))
        {
            host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
            await Poll.UntilAsync(() => first.Events.Count == 1, "the raise");
            // The snapshot's temporary file cannot be created (as on a full or failing disk); the journal still works.
            Directory.CreateDirectory(state + ".tmp");
            var ok = await Send(host, HttpMethod.Post, AckPath, JsonContent.Create(new { by = "ana" }));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            CopyStateFiles(state, crashed); // SIGKILL now: the files as they are
        }

        await using var again = await AlertHost.StartAsync(crashed, SlowSnapshots());
        Assert.Equal("ana", Assert.Single(again.Alerts.ActiveAlerts()).AcknowledgedBy);
    }

    [Fact]
    public async Task Ack_WhileTheAlertClears_NeverLeavesAnAcknowledgedStateAfterTheClear()
    {
        using var dir = new TempDir("ack-order");
        var state = dir.Combine("live", "alerts-state.json");
        var mqtt = new RecordingChannel("mqtt-rec");
        var first = new RecordingChannel();
        await using var host = await AlertHost.StartAsync(state, SlowSnapshots(), s =>
        {
            s.AddSingleton<IMqttPublisher>(mqtt);
            s.AddSingleton<IAlertChannel>(first);
        });
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
        await Poll.UntilAsync(() => first.Events.Count == 1, "the raise");

        // A disk that is slow for the acknowledgement's snapshot (a FIFO: opening it waits for a reader).
        var pipe = state + ".tmp";
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
        }
        var ack = host.Alerts.AcknowledgeAsync("kukes/t03/gas-0007/co-instant", "ana", null);
        // Meanwhile the gas clears: the engine journals and dispatches the clear.
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 0, TimeSpan.FromSeconds(1))]);
        await Poll.UntilAsync(() => first.Events.Any(e => e.State == AlertState.Cleared), "the clear");
        using (var drain = Shell("cat \"$1\" >/dev/null", pipe))
        {
            Assert.Equal(AckResult.Acknowledged, await ack);
            drain.Kill(entireProcessTree: true);
        }
        File.Delete(pipe);
        await Poll.UntilAsync(() => first.Events.Count == 3, "the acknowledged event");

        Assert.Empty(host.Alerts.ActiveAlerts());
        await Poll.UntilAsync(() => mqtt.Published.Count >= 4, "the MQTT publishes");
        var retained = mqtt.Published.Last(p => p.Retain && p.Topic == "alerts/kukes/t03/gas-0007/co-instant");
        Assert.Empty(retained.Payload); // no retained "active" alert for an alert that is cleared
        // The channels must see the alert's events in the order they happened: the clear is the last word.
        Assert.Equal([AlertState.Raised, AlertState.Acknowledged, AlertState.Cleared], first.Events.Select(e => e.State));
    }

    [Fact]
    public async Task Ack_ByOnlyWhitespace_IsA400_NotA500()
    {
        using var dir = new TempDir("ack-ws");
        var recording = new RecordingChannel();
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"), SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(recording));
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
        await Poll.UntilAsync(() => recording.Events.Count == 1, "the raise");
        var response = await Send(host, HttpMethod.Post, AckPath, JsonContent.Create(new { by = "   " }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"site":"kukes","tunnel":"t03","sensor":"gas-0007","created_by":"ana","duration":"99999999999999999999d"}""")]
    [InlineData("""{"site":"kukes","tunnel":"t03","sensor":"gas-0007","created_by":"ana","duration":"3000000d"}""")]
    [InlineData("""{"site":"kukes","tunnel":"t03","sensor":"gas-0007","created_by":"ana","starts_at":"9999-12-31T00:00:00Z","duration":"2d"}""")]
    // A sensor's or a tunnel's name alone would mute it at every site and tunnel that has one.
    [InlineData("""{"sensor":"gas-0007","created_by":"ana","duration":"2h"}""")]
    [InlineData("""{"tunnel":"t03","created_by":"ana","duration":"2h"}""")]
    [InlineData("""{"site":"","created_by":"ana","duration":"2h"}""")]
    public async Task Silence_Invalid_IsA400_NotA500OrTooBroad(string json)
    {
        using var dir = new TempDir("silence-huge");
        await using var host = await AlertHost.StartAsync(dir.Combine("state.json"), SlowSnapshots());
        var response = await Send(host, HttpMethod.Post, "/api/silences", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Ack_ThatCannotBeSavedAtAll_IsRefused_AndNotApplied()
    {
        using var dir = new TempDir("ack-disk");
        var state = dir.Combine("live", "alerts-state.json");
        var recording = new RecordingChannel();
        await using var host = await AlertHost.StartAsync(state, SlowSnapshots(), s => s.AddSingleton<IAlertChannel>(recording));
        host.Pipeline.Post(Gas, [AlertHost.Now(Field.CoPpm, 150)]);
        await Poll.UntilAsync(() => recording.Events.Count == 1, "the raise");
        Directory.CreateDirectory(state + ".tmp"); // no snapshot can be written
        var silence = await Send(host, HttpMethod.Post, "/api/silences", JsonContent.Create(new { site = "kukes", tunnel = "t03", sensor = "gas-0007", duration = "1h", created_by = "ana" }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, silence.StatusCode);
        Assert.Empty(host.Alerts.Silences());
        Directory.CreateDirectory(state + ".journal"); // and no journal either (it was set apart by that snapshot)
        var ack = await Send(host, HttpMethod.Post, AckPath, JsonContent.Create(new { by = "ana" }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ack.StatusCode);
        Assert.Null(Assert.Single(host.Alerts.ActiveAlerts()).AcknowledgedBy);
        Directory.Delete(state + ".tmp");
        Directory.Delete(state + ".journal");
    }
}
