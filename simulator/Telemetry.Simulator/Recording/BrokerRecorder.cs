using System.Buffers;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;

namespace Telemetry.Simulator.Recording;

/// <summary>
/// Records what a broker carries (SPEC §11 "or what a broker carries") into the same file format, offsets measured
/// from the moment the subscription is in place. Real time: it listens for the whole duration.
/// </summary>
internal static class BrokerRecorder
{
    /// <param name="subscribed">Called once the subscription is active, so callers know when publishing may start.</param>
    /// <returns>Messages recorded.</returns>
    public static async Task<long> RecordAsync(BrokerEndpoint broker, string filter, TimeSpan duration, Stream output, TimeProvider time,
        Action subscribed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(subscribed);
        // Bounded: a slow disk holds back the MQTT receive loop (and so the broker) rather than filling memory.
        var channel = Channel.CreateBounded<FeedMessage>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        using var client = new MqttClientFactory().CreateMqttClient();
        long origin = 0;
        client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            var offset = (long)time.GetElapsedTime(origin).TotalMilliseconds;
            return channel.Writer.WriteAsync(new FeedMessage(offset, m.Topic, m.Payload.ToArray()), ct).AsTask();
        };
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId("tunnel-sim-record-" + Guid.NewGuid().ToString("N")[..8])
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        try
        {
            var result = await client.ConnectAsync(options, ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new BrokerUnavailableException($"the broker at {broker} refused the connection: {result.ResultCode} {result.ReasonString}");
            }
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException ex)
        {
            throw new BrokerUnavailableException($"cannot connect to the broker at {broker}: {ex.Message}", ex);
        }

        var writer = Task.Run(async () =>
        {
            using var file = new FeedFileWriter(output);
            await foreach (var m in channel.Reader.ReadAllAsync(CancellationToken.None))
            {
                file.Write(m);
            }
            return file.Count;
        }, CancellationToken.None);

        origin = time.GetTimestamp();
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build(), ct);
        subscribed();
        try
        {
            await Task.Delay(duration, time, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped early (Ctrl+C): keep what was recorded.
        }
        if (client.IsConnected)
        {
            await client.DisconnectAsync(cancellationToken: CancellationToken.None);
        }
        channel.Writer.Complete();
        return await writer;
    }
}
