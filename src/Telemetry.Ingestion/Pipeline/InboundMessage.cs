using MQTTnet;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// One MQTT message as the pipeline sees it. <see cref="Delivery"/> is what acknowledges it to the broker once its
/// readings are durable; <see cref="Generation"/> ties it to the connection it arrived on (acks for a dead
/// connection are dropped: the broker redelivers).
/// </summary>
internal sealed record InboundMessage(string Topic, byte[] Payload, long ReceivedAtMs, MqttApplicationMessageReceivedEventArgs? Delivery, long Generation);
