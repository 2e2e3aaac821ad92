using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// The subscribing connection's packet adapter: MQTTnet's own, except that a received PUBLISH goes straight from the
/// receive loop to the ingress (<paramref name="onPublish"/>) instead of back to <c>MqttClient</c>, which would queue
/// it for a second task and raise its event from there. That hop cost a thread wake-up for almost every message at a
/// steady trickle (BENCHMARKS.md, eighth session). MQTTnet still reads, parses and writes every packet and runs the
/// connection: CONNECT, SUBSCRIBE, keep-alive, DISCONNECT. The ingress acknowledges each message itself, through
/// <see cref="AcknowledgeAsync"/>, once its readings are durable: the same PUBACK MQTTnet's manual acknowledgement sends.
/// </summary>
internal sealed class IngressAdapter(IMqttChannelAdapter inner, Func<MqttPublishPacket, IngressAdapter, ValueTask> onPublish) : IMqttChannelAdapter
{
    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    /// <summary>Returns the next packet that is not a PUBLISH; every PUBLISH before it is handed to the ingress.</summary>
    public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            // Packets already in the transport's buffer complete synchronously: one wake-up reads them all.
            var packet = await inner.ReceivePacketAsync(cancellationToken).ConfigureAwait(false);
            if (packet is not MqttPublishPacket publish)
            {
                return packet;
            }
            await onPublish(publish, this).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the PUBACK of a QoS 1 message received on this connection.</summary>
    public Task AcknowledgeAsync(ushort packetIdentifier, CancellationToken cancellationToken) =>
        inner.SendPacketAsync(new MqttPubAckPacket { PacketIdentifier = packetIdentifier, ReasonCode = MqttPubAckReasonCode.Success }, cancellationToken);

    public void ResetStatistics() => inner.ResetStatistics();

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => inner.SendPacketAsync(packet, cancellationToken);

    public void Dispose() => inner.Dispose();
}
