using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using Telemetry.Alerting.Notifications;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// A second MQTT connection, only for publishing alerts: a slow or broken alert publish can never stall the
/// subscribing connection that carries the readings (SPEC §7.4: channels are isolated from ingestion).
/// Connects at start and reconnects on demand; each publish waits for its PUBACK (QoS 1). Publishes may overlap: up to
/// <see cref="MaxInFlight"/> (or the broker's receive maximum, if lower) wait for their PUBACK at once, and those started
/// one after another (<see cref="StartPublishAsync"/>) go out in that order.
/// </summary>
internal sealed class MqttPublisher(IOptions<MqttOptions> options, IngestMetrics metrics, TimeProvider time, ILogger<MqttPublisher> logger)
    : IMqttPublisher, IHostedService, IDisposable
{
    private readonly MqttOptions _o = options.Value;
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly SemaphoreSlim _connect = new(1, 1);
    private SemaphoreSlim _window = new(MaxInFlight, MaxInFlight);

    /// <summary>
    /// Publishes waiting for their PUBACK at most, unless the broker's receive maximum is lower. Above one burst of
    /// the whole fleet: 200 sensors flipping together make ~300 publishes (a clear is two), and with 256 the last
    /// ones waited for the first ones' PUBACKs before they could leave (BENCHMARKS.md, ninth session).
    /// </summary>
    public const int MaxInFlight = 1024;

    public async Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct) =>
        await await StartPublishAsync(topic, payload, retain, ct);

    /// <summary>The embedded broker keeps retained messages in memory: they end with the service.</summary>
    public bool RetainedOutlivesService => !_o.UseEmbeddedBroker;

    /// <summary>
    /// Waits for the connection and a slot in the window, then hands the message to MQTTnet, which queues it for the
    /// socket before it returns (its send lock is first come, first served): so publishes started one after another
    /// go out in that order. The returned task completes with the PUBACK and frees the slot.
    /// </summary>
    public async ValueTask<Task> StartPublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
    {
        // While the broker is away, wait for it (the channel's queue keeps each alert's newest state meanwhile) instead
        // of failing the event: a failed raise would never be retained, a failed clear would stay retained for good.
        await EnsureConnectedAsync(ct, waitForBroker: true);
        var window = _window;
        await window.WaitAsync(ct);
        try
        {
            return AwaitAckAsync(_client.PublishAsync(Message(topic, payload, retain), ct), topic, window, time.GetTimestamp());
        }
        catch
        {
            window.Release();
            throw;
        }
    }

    private async Task AwaitAckAsync(Task<MqttClientPublishResult> publishing, string topic, SemaphoreSlim window, long started)
    {
        try
        {
            var result = await publishing;
            metrics.AlertPublishLatency.Observe(time.GetElapsedTime(started).TotalSeconds);
            if (!result.IsSuccess)
            {
                throw new MqttCommunicationException($"broker refused the publish to {topic}: {result.ReasonCode} {result.ReasonString}");
            }
        }
        finally
        {
            window.Release();
        }
    }

    private static MqttApplicationMessage Message(string topic, byte[] payload, bool retain) => new MqttApplicationMessageBuilder()
        .WithTopic(topic)
        .WithPayload(payload)
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .WithRetainFlag(retain)
        .WithContentType("application/json")
        .Build();

    /// <summary>
    /// Subscribes at QoS 0 on a short connection of its own (clean start) and collects the retained messages the broker
    /// sends for <paramref name="filter"/>. They come first, as the broker handles the SUBSCRIBE; then this connection
    /// publishes an empty message to a topic of the filter nobody uses (subscribers ignore empty payloads), and once that
    /// comes back every retained message has. If it never comes back the broker does not let this account read the
    /// filter (mosquitto grants the subscription and delivers nothing): null, "cannot tell", so that nothing is
    /// republished for retained messages that were simply not shown.
    /// </summary>
    public async Task<IReadOnlyList<KeyValuePair<string, byte[]>>?> RetainedAsync(string filter, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var client = new MqttClientFactory().CreateMqttClient();
        var unique = Guid.NewGuid().ToString("N");
        var end = string.Join('/', filter.Split('/').Select(p => p is "+" or "#" ? unique : p));
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var received = 0;
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            if (m.Topic == end)
            {
                ended.TrySetResult();
            }
            else if (m.Retain && !m.Payload.IsEmpty)
            {
                lock (found)
                {
                    found[m.Topic] = System.Buffers.BuffersExtensions.ToArray(m.Payload);
                }
            }
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        };
        var options = MqttConnection.Options(_o, _o.ClientId + "-retained").WithCleanStart(true).Build();
        var connected = await client.ConnectAsync(options, timeout.Token);
        if (connected.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new MqttCommunicationException($"reading retained alerts: refused by the broker: {connected.ResultCode}");
        }
        var sub = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtMostOnce).Build(), timeout.Token);
        if (sub.Items.Any(i => i.ResultCode != MqttClientSubscribeResultCode.GrantedQoS0))
        {
            Log.RetainedNotReadable(logger, filter, _o.Username);
            return null;
        }
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(end).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce).Build(), timeout.Token);
        // Given up only after 5 s in which nothing at all came: many retained alerts on a slow broker take longer.
        for (var seen = 0; !ended.Task.IsCompleted;)
        {
            try
            {
                await ended.Task.WaitAsync(TimeSpan.FromSeconds(5), time, timeout.Token);
            }
            catch (TimeoutException) when (Volatile.Read(ref received) != seen)
            {
                seen = Volatile.Read(ref received);
            }
            catch (TimeoutException)
            {
                Log.RetainedNotReadable(logger, filter, _o.Username);
                return null;
            }
        }
        await client.DisconnectAsync(cancellationToken: timeout.Token);
        lock (found)
        {
            return [.. found];
        }
    }

    /// <summary>Connects at start, in the background, so the first alert does not pay for the connection.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                await EnsureConnectedAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is MqttCommunicationException or OperationCanceledException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                // The broker may not be up yet: the first publish connects then.
                Log.PublisherDeferred(logger, ex.Message);
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task EnsureConnectedAsync(CancellationToken ct, bool waitForBroker = false)
    {
        if (_client.IsConnected)
        {
            return;
        }
        await _connect.WaitAsync(ct);
        try
        {
            var delay = _o.ReconnectMinDelay;
            while (true)
            {
                if (_client.IsConnected)
                {
                    return;
                }
                try
                {
                    await ConnectOnceAsync(ct);
                    return;
                }
                catch (Exception ex) when (waitForBroker && !ct.IsCancellationRequested
                    && ex is MqttCommunicationException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException)
                {
                    Log.PublisherDeferred(logger, ex.Message);
                    await Task.Delay(delay, time, ct);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _o.ReconnectMaxDelay.Ticks));
                }
            }
        }
        finally
        {
            _connect.Release();
        }
    }

    private async Task ConnectOnceAsync(CancellationToken ct)
    {
        var options = MqttConnection.Options(_o, _o.ClientId + "-alerts", ackQuickly: true).WithCleanStart(true).Build();
        var result = await _client.ConnectAsync(options, ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new MqttCommunicationException($"alert publisher refused by the broker: {result.ResultCode}");
        }
        // A broker may accept fewer unacknowledged publishes than our window (CONNACK receive maximum; 0: 65,535).
        var allowed = result.ReceiveMaximum is null or 0 ? MaxInFlight : Math.Min(MaxInFlight, (int)result.ReceiveMaximum.Value);
        if (allowed < MaxInFlight)
        {
            _window = new SemaphoreSlim(allowed, allowed);
        }
        Log.PublisherConnected(logger, _o.ClientId + "-alerts");
    }

    public void Dispose()
    {
        _client.Dispose();
        _connect.Dispose();
    }
}
