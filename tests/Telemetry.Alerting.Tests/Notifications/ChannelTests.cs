using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Alerting.Notifications;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Notifications;

public sealed class ChannelTests
{
    [Fact]
    public async Task Webhook_FirstAttemptFails_IsRetriedAndSignedVerifiably()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script(500, 503);
        using var http = new HttpClient();
        var channel = new WebhookAlertChannel(() => http, new WebhookOptions { Url = receiver.Url, Secret = "s3cret", RetryDelay = TimeSpan.FromMilliseconds(5) },
            TimeProvider.System, NullLogger.Instance, 0);

        await channel.SendAsync(Events.Make(AlertState.Escalated, "red", "amber"), CancellationToken.None);

        var deliveries = receiver.Deliveries.ToArray();
        Assert.Equal(3, deliveries.Length);
        var last = deliveries[^1];
        Assert.Equal(deliveries[0].Body, last.Body);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("s3cret"), last.Body));
        Assert.Equal(expected, last.Signature);
        Assert.True(long.TryParse(last.Timestamp, out _));
        Assert.StartsWith("application/json", last.ContentType, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(last.Body);
        Assert.Equal("kukes/t03/gas-0007/co-instant", json.RootElement.GetProperty("alert_id").GetString());
        Assert.Equal("escalated", json.RootElement.GetProperty("state").GetString());
        Assert.Equal("amber", json.RootElement.GetProperty("previous_level").GetString());
        Assert.Equal("2026-11-28T10:15:00.250Z", json.RootElement.GetProperty("ts").GetString());
    }

    // Events of a webhook wait behind the one being retried: a receiver asking for an hour must not hold every later
    // alert that long. Retry-After is honoured up to the backoff's cap of 5 minutes.
    [Fact]
    public async Task Webhook_RetryAfterOfAnHour_WaitsFiveMinutesAtMost()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script(429);
        receiver.RetryAfter = "3600";
        using var http = new HttpClient();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        var channel = new WebhookAlertChannel(() => http, new WebhookOptions { Url = receiver.Url }, time, NullLogger.Instance, 0);

        var send = channel.SendAsync(Events.Make(AlertState.Raised, "red", "normal"), CancellationToken.None);
        await Poll.UntilAsync(() => receiver.Deliveries.Count == 1, "the first attempt");
        var start = time.GetUtcNow();
        await Poll.UntilAsync(() =>
        {
            if (receiver.Deliveries.Count < 2)
            {
                time.Advance(TimeSpan.FromSeconds(30));
            }
            return receiver.Deliveries.Count == 2;
        }, "the retry");
        await send;

        // 5 minutes, plus the 30-second steps taken before the channel had the answer and began to wait; an hour before.
        Assert.InRange(time.GetUtcNow() - start, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Webhook_PermanentRefusal_IsNotRetried()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script(400);
        using var http = new HttpClient();
        var channel = new WebhookAlertChannel(() => http, new WebhookOptions { Url = receiver.Url, RetryDelay = TimeSpan.FromMilliseconds(5) },
            TimeProvider.System, NullLogger.Instance, 0);
        await Assert.ThrowsAsync<HttpRequestException>(() => channel.SendAsync(Events.Make(AlertState.Raised, "red"), CancellationToken.None));
        Assert.Single(receiver.Deliveries);
        Assert.Null(receiver.Deliveries.Single().Signature);
    }

    [Fact]
    public async Task Email_RedEvent_IsReceivedByARealSmtpServer_AmberIsNot()
    {
        using var smtp = await SmtpReceiver.StartAsync();
        var channel = new EmailAlertChannel(new EmailOptions
        {
            Host = "127.0.0.1",
            Port = smtp.Port,
            UseTls = false,
            From = "alerts@tunnels.example",
            To = ["safety@tunnels.example", "duty@tunnels.example"],
        }, TimeProvider.System, NullLogger.Instance);

        await channel.SendAsync(Events.Make(AlertState.Raised, "amber", rule: "co-twa"), CancellationToken.None);
        await channel.SendAsync(Events.Make(AlertState.Escalated, "red", "amber"), CancellationToken.None);
        await channel.SendAsync(Events.Make(AlertState.Cleared, "normal", "red"), CancellationToken.None);

        var messages = smtp.Messages.ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal("[RED] kukes/t03/gas-0007/co-instant escalated: CO 112.4 ppm is above the red level 100 ppm", messages[0].Subject);
        Assert.Equal(["safety@tunnels.example", "duty@tunnels.example"], messages[0].To.Mailboxes.Select(m => m.Address));
        Assert.Contains("Alert:     kukes/t03/gas-0007/co-instant", messages[0].TextBody, StringComparison.Ordinal);
        Assert.StartsWith("[NORMAL] kukes/t03/gas-0007/co-instant cleared", messages[1].Subject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mqtt_ActiveAlertIsRetained_AndRemovedOnClear()
    {
        await using var broker = await MosquittoServer.StartAsync();
        await using var publisher = await MqttNetPublisher.ConnectAsync(broker);
        var root = "alerts-" + Guid.NewGuid().ToString("N")[..8];
        var channel = new MqttAlertChannel(publisher, root);
        var topic = $"{root}/kukes/t03/gas-0007/co-instant";
        await using var live = await MqttProbe.SubscribeAsync(broker, $"{root}/#");

        await channel.SendAsync(Events.Make(AlertState.Raised, "red"), CancellationToken.None);
        await channel.SendAsync(Events.Make(AlertState.Raised, "red") with { Repeat = true }, CancellationToken.None);
        var retained = await RetainedAsync(broker, root);
        var (t, payload) = Assert.Single(retained);
        Assert.Equal(topic, t);
        Assert.Equal("raised", JsonDocument.Parse(payload).RootElement.GetProperty("state").GetString());

        await channel.SendAsync(Events.Make(AlertState.Cleared, "normal", "red"), CancellationToken.None);
        Assert.Empty(await RetainedAsync(broker, root));
        var seen = await Poll.ForAsync(() => Task.FromResult(live.Received.Where(m => m.Topic == topic).ToList()), l => l.Count >= 3,
            "the live subscriber to see raised, cleared and the removal");
        Assert.Equal(["raised", "cleared", ""], seen.Select(m => m.Payload is { Length: > 0 } p ? JsonDocument.Parse(p).RootElement.GetProperty("state").GetString() : ""));
        Assert.False(seen[1].Retain);
    }

    [Fact]
    public async Task Mqtt_BacklogEvent_IsPublishedButNeverRetained()
    {
        var recorder = new RecordingChannel();
        var channel = new MqttAlertChannel(recorder, "alerts");
        await channel.SendAsync(Events.Make(AlertState.Raised, "red") with { Backlog = true }, CancellationToken.None);
        await channel.SendAsync(Events.Make(AlertState.Cleared, "normal", "red") with { Backlog = true }, CancellationToken.None);
        Assert.Equal([("alerts/kukes/t03/gas-0007/co-instant", false), ("alerts/kukes/t03/gas-0007/co-instant", false)],
            recorder.Published.Select(p => (p.Topic, p.Retain)));
    }

    [Fact]
    public async Task Mqtt_AGroupOfEvents_OverlapsAcrossAlerts_AndKeepsEachAlertsOrder()
    {
        await using var rig = await MqttRig.StartAsync();
        var (broker, publisher, channel, live, root) = (rig.Broker, rig.Publisher, rig.Channel, rig.Live, rig.Root);
        // 50 alerts raised and 50 cleared, interleaved as a storm would queue them
        var group = Enumerable.Range(0, 50).Select(i => Events.Make(AlertState.Raised, "red", sensor: $"gas-{i:D4}"))
            .Concat(Enumerable.Range(0, 50).Select(i => Events.Make(AlertState.Cleared, "normal", "red", sensor: $"gas-{i:D4}")))
            .ToList();
        var failures = new Exception?[group.Count];

        await channel.SendManyAsync(group, failures, CancellationToken.None);

        Assert.All(failures, Assert.Null);
        Assert.True(publisher.MaxInFlight > 1, $"publishes of different alerts did not overlap (at most {publisher.MaxInFlight} in flight)");
        var seen = await Poll.ForAsync(() => Task.FromResult(live.Received.ToList()), l => l.Count >= 150, "150 messages: raised, cleared, removal per alert");
        foreach (var perAlert in seen.GroupBy(m => m.Topic))
        {
            Assert.Equal(["raised", "cleared", ""], perAlert.Select(m => m.Payload is { Length: > 0 } p ? JsonDocument.Parse(p).RootElement.GetProperty("state").GetString() : ""));
        }
        Assert.Empty(await RetainedAsync(broker, root));
    }

    [Fact]
    public async Task Mqtt_FlappingAlertsInOneGroup_ArriveInOrder_WithoutWaitingForEachPuback()
    {
        await using var rig = await MqttRig.StartAsync();
        var (broker, publisher, channel, live, root) = (rig.Broker, rig.Publisher, rig.Channel, rig.Live, rig.Root);
        // 20 alerts, each raised and cleared 6 times, interleaved as a storm queues them; the last of every alert is
        // "raised", so each must end retained as raised.
        var group = new List<AlertEvent>();
        for (var round = 0; round < 12; round++)
        {
            for (var s = 0; s < 20; s++)
            {
                group.Add(round % 2 == 0
                    ? Events.Make(AlertState.Raised, "red", sensor: $"gas-{s:D4}")
                    : Events.Make(AlertState.Cleared, "normal", "red", sensor: $"gas-{s:D4}"));
            }
        }
        group.AddRange(Enumerable.Range(0, 20).Select(s => Events.Make(AlertState.Raised, "red", sensor: $"gas-{s:D4}")));
        var failures = new Exception?[group.Count];

        await channel.SendManyAsync(group, failures, CancellationToken.None);

        Assert.All(failures, Assert.Null);
        // One alert's 13 events did not wait for each other's PUBACK: more than one alert's worth was in flight.
        Assert.True(publisher.MaxInFlight > 20, $"at most {publisher.MaxInFlight} publishes in flight");
        var perAlert = 6 * 3 + 1; // raised, cleared + removal, six times, then raised
        var seen = await Poll.ForAsync(() => Task.FromResult(live.Received.ToList()), l => l.Count >= 20 * perAlert, "every event and removal");
        var expected = Enumerable.Repeat(new[] { "raised", "cleared", "" }, 6).SelectMany(x => x).Append("raised");
        foreach (var alert in seen.GroupBy(m => m.Topic))
        {
            Assert.Equal(expected, alert.Select(m => m.Payload is { Length: > 0 } p ? JsonDocument.Parse(p).RootElement.GetProperty("state").GetString() : ""));
        }
        var retained = await RetainedAsync(broker, root);
        Assert.Equal(20, retained.Count);
        Assert.All(retained, r => Assert.Equal("raised", JsonDocument.Parse(r.Payload).RootElement.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task Worker_EventsThatPiledUpWhileTheChannelWasBusy_GoOutAsOneGroup()
    {
        var channel = new GatedChannel();
        var worker = new ChannelWorker(channel, 1000, NullLogger.Instance, new AlertMetrics(), TimeSpan.Zero, TimeProvider.System);
        worker.Start(CancellationToken.None);
        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-first"));
        await Poll.UntilAsync(() => channel.Groups.Count == 1, "the first event to reach the channel");
        for (var i = 0; i < 40; i++)
        {
            await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: $"gas-{i:D4}"));
        }

        channel.Gate.SetResult();
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([1, 40], channel.Groups.Select(g => g.Count));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"gas-{i:D4}"), channel.Groups[1].Select(e => e.Sensor));
    }

    [Fact]
    public async Task Worker_Mqtt_AnAlertDispatchedWhileEarlierOnesAwaitTheirPuback_IsPublishedWithoutWaitingForThem()
    {
        await using var rig = await MqttRig.StartAsync();
        // The broker receives and delivers every publish; only the PUBACKs reach the channel when the test says so.
        var held = new HeldAcks(rig.Real);
        var metrics = new AlertMetrics();
        var worker = new ChannelWorker(new MqttAlertChannel(held, rig.Root), 1000, NullLogger.Instance, metrics, TimeSpan.Zero, TimeProvider.System);
        worker.Start(CancellationToken.None);

        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-0001"));
        await Poll.UntilAsync(() => rig.Live.Received.Count == 1, "the first alert at the subscriber");
        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-0002"));
        await Poll.UntilAsync(() => rig.Live.Received.Count == 2, "the second alert while the first still waits for its PUBACK");
        Assert.Equal(0, metrics.Channel("mqtt", "delivered"));

        held.Release.SetResult();
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        // Counted as delivered once acknowledged, each once.
        Assert.Equal(2, metrics.Channel("mqtt", "delivered"));
        Assert.Equal(["gas-0001", "gas-0002"], rig.Live.Received.Select(m => m.Topic.Split('/')[^2]));
    }

    [Fact]
    public async Task Worker_AGroupWhoseDeliveryFailsLater_CountsEachOfItsEventsAsFailed()
    {
        var channel = new ConfirmLater();
        var metrics = new AlertMetrics();
        var worker = new ChannelWorker(channel, 1000, NullLogger.Instance, metrics, TimeSpan.Zero, TimeProvider.System);
        worker.Start(CancellationToken.None);
        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-0001"));
        await Poll.UntilAsync(() => channel.Handed == 1, "the first group handed over");
        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-0002"));
        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-0003"));
        await Poll.UntilAsync(() => channel.Handed == 3, "the next events handed over before the first group is confirmed");

        channel.Confirm.SetException(new IOException("connection lost"));
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3, metrics.Channel("confirm-later", "failed"));
        Assert.Equal(0, metrics.Channel("confirm-later", "delivered"));
    }

    /// <summary>
    /// The retained messages under <paramref name="root"/>, as a client connecting now sees them. A marker retained
    /// last tells when the broker has sent them all (it sends a subscription's retained messages in one go).
    /// </summary>
    private static async Task<List<(string Topic, string Payload)>> RetainedAsync(MosquittoServer broker, string root)
    {
        await using var marker = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        var id = Guid.NewGuid().ToString("N");
        await marker.PublishAsync($"{root}/zz-marker", id, retain: true);
        await using var client = await MqttProbe.SubscribeAsync(broker, $"{root}/#");
        await Poll.UntilAsync(() => client.Received.Any(m => m.Topic == $"{root}/zz-marker" && m.Payload == id), "the retained marker");
        await marker.PublishAsync($"{root}/zz-marker", [], retain: true);
        return client.Received.Where(m => m.Retain && m.Topic != $"{root}/zz-marker").Select(m => (m.Topic, m.Payload)).ToList();
    }

    /// <summary>A broker, the MQTT channel over a metered real publisher, and a live subscriber under a fresh root.</summary>
    private sealed record MqttRig(MosquittoServer Broker, MqttNetPublisher Real, ConcurrencyMeter Publisher, MqttAlertChannel Channel, MqttProbe Live, string Root)
        : IAsyncDisposable
    {
        public static async Task<MqttRig> StartAsync()
        {
            var broker = await MosquittoServer.StartAsync();
            var real = await MqttNetPublisher.ConnectAsync(broker);
            var publisher = new ConcurrencyMeter(real);
            var root = "alerts-" + Guid.NewGuid().ToString("N")[..8];
            var live = await MqttProbe.SubscribeAsync(broker, $"{root}/#");
            return new MqttRig(broker, real, publisher, new MqttAlertChannel(publisher, root), live, root);
        }

        public async ValueTask DisposeAsync()
        {
            await Live.DisposeAsync();
            await Real.DisposeAsync();
            await Broker.DisposeAsync();
        }
    }

    /// <summary>Forwards to a real publisher; each publish's PUBACK is passed on only once <see cref="Release"/> is set.</summary>
    private sealed class HeldAcks(IMqttPublisher inner) : IMqttPublisher
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct) => await await StartPublishAsync(topic, payload, retain, ct);

        public async ValueTask<Task> StartPublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
        {
            var ack = await inner.StartPublishAsync(topic, payload, retain, ct);
            return Task.WhenAll(ack, Release.Task);
        }
    }

    /// <summary>A channel that takes each group at once and confirms every group's delivery together, when told.</summary>
    private sealed class ConfirmLater : IAlertChannel
    {
        private int _handed;

        public TaskCompletionSource Confirm { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Handed => Volatile.Read(ref _handed);

        public string Name => "confirm-later";

        public bool HonoursSilences => false;

        public Task SendAsync(AlertEvent alert, CancellationToken cancellationToken) => throw new InvalidOperationException("expected groups");

        public ValueTask<Task> StartManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
        {
            Interlocked.Add(ref _handed, alerts.Count);
            return ValueTask.FromResult(Confirm.Task);
        }
    }

    /// <summary>Forwards to a real publisher and measures how many publishes wait for their PUBACK at once.</summary>
    private sealed class ConcurrencyMeter(IMqttPublisher inner) : IMqttPublisher
    {
        private int _inFlight;
        private int _max;

        public int MaxInFlight => Volatile.Read(ref _max);

        public async Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct) => await await StartPublishAsync(topic, payload, retain, ct);

        /// <summary>In flight from the start of a publish until its PUBACK.</summary>
        public async ValueTask<Task> StartPublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
        {
            var now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref _max, now);
            try
            {
                return Done(await inner.StartPublishAsync(topic, payload, retain, ct));
            }
            catch
            {
                Interlocked.Decrement(ref _inFlight);
                throw;
            }
        }

        private async Task Done(Task ack)
        {
            try
            {
                await ack;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }
}
