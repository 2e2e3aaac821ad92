using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// Builds the alert publisher's transport: MQTTnet's own, under a <see cref="PublisherAdapter"/>. Keeps the adapter of
/// the newest connection, which is where publishes go.
/// </summary>
internal sealed class PublisherAdapterFactory : IMqttClientAdapterFactory
{
    private readonly MqttClientAdapterFactory _inner = new();
    private volatile PublisherAdapter? _current;

    /// <summary>The adapter of the newest connection, or null before the first connect.</summary>
    public PublisherAdapter? Current => _current;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        var adapter = new PublisherAdapter(_inner.CreateClientAdapter(options, packetInspector, logger));
        _current = adapter;
        return adapter;
    }
}

/// <summary>
/// The alert publisher's packet adapter: MQTTnet's own, except that QoS 1 publishes and their PUBACKs bypass
/// <c>MqttClient</c>. Its dispatcher keeps the publishes awaiting a PUBACK in a list and walks all of it for every
/// PUBACK, and again to remove each one: with a thousand in flight during an alert storm, that and the client's
/// per-publish bookkeeping were about a tenth of the service's CPU (BENCHMARKS.md, tenth session). Here a PUBACK finds
/// its publish by packet identifier. MQTTnet still encodes and writes every packet, reads and parses every packet, and
/// runs the connection: CONNECT, keep-alive, DISCONNECT.
/// </summary>
internal sealed class PublisherAdapter(IMqttChannelAdapter inner) : IMqttChannelAdapter
{
    private readonly Dictionary<ushort, TaskCompletionSource<MqttPubAckPacket>> _awaiting = [];
    private ushort _lastIdentifier;
    private Exception? _closed;

    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    /// <summary>Publishes awaiting their PUBACK on this connection.</summary>
    public int Awaiting
    {
        get
        {
            lock (_awaiting)
            {
                return _awaiting.Count;
            }
        }
    }

    /// <summary>
    /// Gives <paramref name="packet"/> a free packet identifier and queues it for the socket before returning (MQTTnet's
    /// send lock is first come, first served, so publishes started one after another go out in that order). The task
    /// completes with the broker's PUBACK, and fails if the packet cannot be sent or the connection ends first.
    /// </summary>
    public Task<MqttPubAckPacket> PublishAsync(MqttPublishPacket packet, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(packet);
        // What waits for the PUBACK runs on the thread pool. Run on the receive loop, it held up reading the next
        // PUBACKs, and a full-speed run cost a third more CPU per reading (BENCHMARKS.md, tenth session).
        var ack = new TaskCompletionSource<MqttPubAckPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
        ushort id;
        lock (_awaiting)
        {
            if (_closed is not null)
            {
                throw new MqttCommunicationException("the alert publisher's connection has ended", _closed);
            }
            id = NextFreeIdentifier();
            _awaiting.Add(id, ack);
        }
        packet.PacketIdentifier = id;
        var sending = inner.SendPacketAsync(packet, cancellationToken);
        if (!sending.IsCompletedSuccessfully)
        {
            _ = FailIfNotSentAsync(sending, id, ack);
        }
        return ack.Task;
    }

    /// <summary>
    /// The next identifier after the last one given that no publish still awaits. The publisher's window keeps far
    /// fewer than 65,535 in flight, but one whose PUBACK is late must not have its identifier given to another.
    /// </summary>
    private ushort NextFreeIdentifier()
    {
        if (_awaiting.Count >= ushort.MaxValue)
        {
            throw new MqttCommunicationException("every packet identifier of the alert publisher is awaiting a PUBACK");
        }
        do
        {
            _lastIdentifier = _lastIdentifier == ushort.MaxValue ? (ushort)1 : (ushort)(_lastIdentifier + 1);
        }
        while (_awaiting.ContainsKey(_lastIdentifier));
        return _lastIdentifier;
    }

    private async Task FailIfNotSentAsync(Task sending, ushort id, TaskCompletionSource<MqttPubAckPacket> ack)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            lock (_awaiting)
            {
                if (_awaiting.TryGetValue(id, out var entry) && entry == ack)
                {
                    _awaiting.Remove(id);
                }
            }
            ack.TrySetException(ex);
        }
    }

    /// <summary>Returns the next packet that is not a PUBACK; every PUBACK before it completes its publish.</summary>
    public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                // Packets already in the transport's buffer complete synchronously: one wake-up reads them all.
                var packet = await inner.ReceivePacketAsync(cancellationToken).ConfigureAwait(false);
                if (packet is MqttPubAckPacket ack)
                {
                    Complete(ack);
                    continue;
                }
                if (packet is null)
                {
                    // MQTTnet's way of saying the connection has ended; the client disconnects on it.
                    Close(new MqttCommunicationException("the alert publisher's connection has ended"));
                }
                return packet!;
            }
        }
        catch (Exception ex)
        {
            Close(ex);
            throw;
        }
    }

    private void Complete(MqttPubAckPacket ack)
    {
        TaskCompletionSource<MqttPubAckPacket>? waiting;
        lock (_awaiting)
        {
            _awaiting.Remove(ack.PacketIdentifier, out waiting);
        }
        // A PUBACK for an identifier nobody awaits (its send failed, or it was cancelled) has nothing left to complete.
        waiting?.TrySetResult(ack);
    }

    /// <summary>Fails every publish still awaiting its PUBACK: on this connection it will never come.</summary>
    private void Close(Exception reason)
    {
        List<TaskCompletionSource<MqttPubAckPacket>> failed;
        lock (_awaiting)
        {
            _closed ??= reason;
            failed = [.. _awaiting.Values];
            _awaiting.Clear();
        }
        foreach (var ack in failed)
        {
            ack.TrySetException(new MqttCommunicationException("the alert publisher's connection ended before the broker's PUBACK", reason));
        }
    }

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        Close(new MqttCommunicationException("the alert publisher disconnected"));
        await inner.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    public void ResetStatistics() => inner.ResetStatistics();

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => inner.SendPacketAsync(packet, cancellationToken);

    public void Dispose()
    {
        Close(new ObjectDisposedException(nameof(PublisherAdapter)));
        inner.Dispose();
    }
}
