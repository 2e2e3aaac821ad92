using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// Owns the subscribing MQTT connection (SPEC §8): MQTT 5, a persistent session under a fixed client id, QoS 1 on
/// <c>{root}/#</c> (so wrong topic shapes arrive and are quarantined), and the reconnect loop MQTTnet's maintainers
/// recommend (a loop that checks the connection, not a reconnect inside the Disconnected event). Every PUBLISH comes
/// straight from MQTTnet's receive loop (<see cref="IngressAdapter"/>) and is only copied into the
/// <see cref="IngestQueue"/>; its PUBACK is sent later, from the processor, once the message's readings are durable.
/// </summary>
internal sealed class MqttIngress : BackgroundService, IAcknowledger
{
    private readonly MqttOptions _o;
    private readonly IOptions<IngestionOptions> _ingestion;
    private readonly IngestQueue _queue;
    private readonly IngestMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttIngress> _logger;
    private readonly SemaphoreSlim _connectionLost = new(0, 1);
    private readonly List<string> _extraFilters = [];
    // MQTTnet's client over our transport (IngressChannel): the receive window enforced, acks coalesced, and every
    // PUBLISH handed to OnPublishAsync from the receive loop (IngressAdapter).
    private readonly (IngressAdapterFactory Transport, IMqttClient Client) _mqtt;
    private long _generation;
    private volatile bool _stopping;
    private MqttClientConnectResultCode? _lastRefusal;
    private volatile bool _accepting = true;
    private volatile bool _subscribed;

    public MqttIngress(
        IOptions<MqttOptions> options,
        IOptions<IngestionOptions> ingestion,
        IngestQueue queue,
        IngestMetrics metrics,
        TimeProvider time,
        ILogger<MqttIngress> logger)
    {
        _o = options.Value;
        _ingestion = ingestion;
        _queue = queue;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        var transport = new IngressAdapterFactory(OnPublishAsync, window => Log.ReceiveWindowExceeded(logger, window));
        _mqtt = (transport, new MqttClientFactory().CreateMqttClient(transport));
    }

    /// <summary>True while connected and subscribed: the readiness condition.</summary>
    public bool IsSubscribed => _subscribed && _mqtt.Client.IsConnected;

    public string Host => _o.BrokerHost;

    /// <summary>Completes when the processor has made durable and acknowledged everything received before the stop.</summary>
    public Task? Drained { get; set; }

    /// <summary>Adds a topic filter the service also consumes (alert acknowledgements). Call before start.</summary>
    public void AddFilter(string filter) => _extraFilters.Add(filter);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var client = _mqtt.Client;
        client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected)
            {
                // Every ack still pending belongs to the dead connection; the broker redelivers those messages.
                Interlocked.Increment(ref _generation);
                _subscribed = false;
                _metrics.MqttConnected.Set(0);
                if (!_stopping)
                {
                    Log.Disconnected(_logger, e.Reason.ToString(), _queue.Count);
                }
                try
                {
                    _connectionLost.Release(); // wake the connection loop
                }
                catch (SemaphoreFullException)
                {
                    // already signalled
                }
            }
            return Task.CompletedTask;
        };

        var delay = _o.ReconnectMinDelay;
        while (!stoppingToken.IsCancellationRequested && !_stopping)
        {
            if (!client.IsConnected)
            {
                var failure = await TryConnectAsync(client, stoppingToken);
                if (failure is not null)
                {
                    var wait = Jitter(delay);
                    Log.ConnectFailed(_logger, Host, _o.Port, failure, wait);
                    await Delay(wait, stoppingToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _o.ReconnectMaxDelay.Ticks));
                    continue;
                }
                delay = _o.ReconnectMinDelay;
            }
            // Wait for a lost connection; the timeout re-checks in case an event was missed.
            try
            {
                await _connectionLost.WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stop taking messages, let the processor make durable and acknowledge what it has, then disconnect.
        _accepting = false;
        Log.Draining(_logger);
        _queue.Writer.TryComplete();
        if (Drained is { } drained)
        {
            try
            {
                // Bounded: with InfluxDB down and the spool full the group in hand can never become durable. It is
                // then left unacknowledged, and the broker redelivers it to the next session.
                await drained.WaitAsync(_ingestion.Value.ShutdownTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                Log.DrainTimedOut(_logger, _ingestion.Value.ShutdownTimeout);
            }
        }
        _stopping = true;
        if (_mqtt.Client.IsConnected)
        {
            await _mqtt.Client.TryDisconnectAsync(MqttClientDisconnectOptionsReason.NormalDisconnection);
        }
        await base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// Acknowledges a group of messages whose readings are durable, in order, as one socket write; drops the acks of
    /// messages whose connection is gone (the broker redelivers those).
    /// </summary>
    public async ValueTask AcknowledgeAsync(IReadOnlyList<InboundMessage> group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var channel = _mqtt.Transport.Current;
        channel?.BeginCoalescing();
        try
        {
            foreach (var message in group)
            {
                await AcknowledgeOneAsync(message);
            }
        }
        finally
        {
            if (channel is not null)
            {
                try
                {
                    await channel.FlushAsync(CancellationToken.None);
                }
                catch (Exception ex) when (ex is ObjectDisposedException or MqttCommunicationException or IOException or System.Net.Sockets.SocketException)
                {
                    // The connection died with the acks unsent: the broker redelivers those messages.
                    _metrics.AcksDropped.Inc(group.Count);
                }
            }
        }
    }

    private async ValueTask AcknowledgeOneAsync(InboundMessage message)
    {
        if (message.PacketId == 0)
        {
            return; // QoS 0: nothing to acknowledge
        }
        if (message.Generation != Interlocked.Read(ref _generation) || !_mqtt.Client.IsConnected)
        {
            _metrics.AcksDropped.Inc();
            return;
        }
        try
        {
            await message.Connection.AcknowledgeAsync(message.PacketId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException or MqttCommunicationException or OperationCanceledException)
        {
            // The connection died between the check and the send: the broker redelivers the message, and storing it
            // twice is harmless (point identity).
            _metrics.AcksDropped.Inc();
        }
    }

    /// <summary>Every PUBLISH, straight from MQTTnet's receive loop (<see cref="IngressAdapter"/>): copied into the <see cref="IngestQueue"/>.</summary>
    private ValueTask OnPublishAsync(MqttPublishPacket publish, IngressAdapter connection)
    {
        if (!_accepting)
        {
            // Shutting down: leave it unacknowledged; the broker keeps it for the next session.
            return ValueTask.CompletedTask;
        }
        var packetId = publish.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce ? (ushort)0 : publish.PacketIdentifier;
        var inbound = new InboundMessage(publish.Topic, publish.Payload.IsEmpty ? [] : System.Buffers.BuffersExtensions.ToArray(publish.Payload),
            _time.GetUtcNow().ToUnixTimeMilliseconds(), connection, packetId, Interlocked.Read(ref _generation), publish.Retain);
        _metrics.MessagesReceived.Inc();
        return _queue.Writer.TryWrite(inbound) ? ValueTask.CompletedTask : new ValueTask(WriteSlowAsync(inbound));
    }

    private async Task WriteSlowAsync(InboundMessage inbound)
    {
        try
        {
            await _queue.Writer.WriteAsync(inbound);
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            // Closed for shutdown while waiting: unacknowledged, so redelivered.
        }
    }

    private async Task<string?> TryConnectAsync(IMqttClient client, CancellationToken ct)
    {
        try
        {
            var generation = Interlocked.Increment(ref _generation);
            var result = await client.ConnectAsync(BuildOptions(), ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                // Said once per kind of refusal: retrying every few seconds must not flood the log.
                if (_lastRefusal != result.ResultCode)
                {
                    _lastRefusal = result.ResultCode;
                    Log.Refused(_logger, result.ResultCode.ToString(), result.ReasonString ?? "");
                }
                return $"refused: {result.ResultCode}";
            }
            _lastRefusal = null;
            // Always subscribe: a changed topic root must take effect even when the broker kept the old session.
            // Retain handling 1 stops the broker resending retained messages for a subscription it already has.
            var filters = new List<string> { $"{_o.TopicRoot}/#" };
            filters.AddRange(_extraFilters);
            var subscribe = new MqttClientSubscribeOptionsBuilder();
            foreach (var f in filters)
            {
                subscribe.WithTopicFilter(b => b.WithTopic(f).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithRetainHandling(MqttRetainHandling.SendAtSubscribeIfNewSubscriptionOnly));
            }
            var sub = await client.SubscribeAsync(subscribe.Build(), ct);
            foreach (var item in sub.Items)
            {
                if (item.ResultCode != MqttClientSubscribeResultCode.GrantedQoS1)
                {
                    Log.SubscribeRefused(_logger, item.TopicFilter.Topic, item.ResultCode.ToString());
                    await client.DisconnectAsync(cancellationToken: ct);
                    return $"subscription to {item.TopicFilter.Topic} refused: {item.ResultCode}";
                }
            }
            if (generation != Interlocked.Read(ref _generation))
            {
                return "connection dropped while subscribing";
            }
            _subscribed = true;
            _metrics.MqttConnected.Set(1);
            // Drain a stale lost-connection signal from the previous connection.
            _connectionLost.Wait(0, CancellationToken.None);
            Log.Connected(_logger, Host, _o.Port, _o.ClientId, result.IsSessionPresent, string.Join(", ", filters));
            return null;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return "stopping";
        }
        catch (Exception ex) when (ex is MqttCommunicationException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidOperationException or IOException)
        {
            return ex.Message;
        }
    }

    private MqttClientOptions BuildOptions() =>
        MqttConnection.Options(_o, _o.ClientId)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)Math.Min(_o.SessionExpiry.TotalSeconds, uint.MaxValue - 1))
            .WithReceiveMaximum((ushort)_o.ReceiveMaximum)
            .Build();

    private static TimeSpan Jitter(TimeSpan d) => d * (0.8 + (Random.Shared.NextDouble() * 0.4));

    private async Task Delay(TimeSpan d, CancellationToken ct)
    {
        try
        {
            await Task.Delay(d, _time, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override void Dispose()
    {
        _mqtt.Client.Dispose();
        _connectionLost.Dispose();
        base.Dispose();
    }
}

/// <summary>Acknowledges messages to the broker (the seam the processor uses).</summary>
internal interface IAcknowledger
{
    ValueTask AcknowledgeAsync(IReadOnlyList<InboundMessage> group);
}
