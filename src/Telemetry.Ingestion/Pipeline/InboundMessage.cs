using Telemetry.Ingestion.Mqtt;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// One MQTT message as the pipeline sees it. <see cref="Connection"/> and <see cref="PacketId"/> acknowledge it to the
/// broker once its readings are durable (packet id 0: a QoS 0 message, nothing to acknowledge);
/// <see cref="Generation"/> ties it to the connection it arrived on (acks for a dead connection are dropped: the broker
/// redelivers). <see cref="Retained"/>: the broker's stored copy, sent because we subscribed, not a message published now.
/// </summary>
internal sealed record InboundMessage(string Topic, byte[] Payload, long ReceivedAtMs, IngressAdapter Connection, ushort PacketId, long Generation,
    bool Retained = false);
