using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// The hand-off between the MQTT receive handler and the processor. Bounded above the receive maximum, so in normal
/// operation it never fills. What bounds the messages in memory is the receive window <see cref="Mqtt.IngressChannel"/>
/// enforces on the socket (MQTTnet itself queues whatever the broker sends, without limit).
/// </summary>
internal sealed class IngestQueue(IOptions<MqttOptions> options)
{
    private readonly Channel<InboundMessage> _channel = Channel.CreateBounded<InboundMessage>(
        new BoundedChannelOptions(options.Value.ReceiveMaximum + 1024)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });

    public ChannelWriter<InboundMessage> Writer => _channel.Writer;

    public ChannelReader<InboundMessage> Reader => _channel.Reader;

    public int Count => _channel.Reader.Count;
}
