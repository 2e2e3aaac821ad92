using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.Testing;

/// <summary>
/// Publishes a known set of distinct gas readings at QoS 1, pipelined (many publishes in flight), so tests can feed
/// tens of thousands quickly and then expect an exact count in InfluxDB.
/// </summary>
public static class Feed
{
    /// <summary>Reading <paramref name="i"/>'s topic and payload: sensor i mod sensors, a distinct timestamp per reading.</summary>
    public static (string Topic, byte[] Payload) GasReading(string root, int i, int sensors, long baseMs)
    {
        var sensor = i % sensors;
        var k = i / sensors;
        var ts = baseMs + (k * 1000L) + sensor;
        var topic = $"{root}/kukes/t0{(sensor % 4) + 1}/gas/gas-{sensor:D4}";
        var payload = string.Create(CultureInfo.InvariantCulture, $$$"""{"ts":{{{ts}}},"seq":{{{k}}},"values":{"ch4_lel_pct":{{{(i % 97) / 10.0}}},"co_ppm":{{{(i % 50) / 10.0}}},"o2_pct":20.9}}""");
        return (topic, Encoding.UTF8.GetBytes(payload));
    }

    /// <summary>A base time for feeds: an hour ago, well inside the accepted age, on a whole second.</summary>
    public static long BaseMs(TimeProvider? time = null) =>
        ((time ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds() / 1000 * 1000) - 3_600_000;

    /// <summary>Publishes readings [<paramref name="from"/>, <paramref name="to"/>) with up to <paramref name="window"/> in flight.</summary>
    public static async Task PublishGasAsync(string host, int port, string root, int from, int to, int sensors, long baseMs, int window = 500, CancellationToken ct = default)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer(host, port)
            .WithClientId("feed-" + Guid.NewGuid().ToString("N")[..12]).WithCleanStart(true).Build();
        var result = await client.ConnectAsync(options, ct);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"feed could not connect: {result.ResultCode}");
        }
        using var gate = new SemaphoreSlim(window);
        var pending = new List<Task>();
        for (var i = from; i < to; i++)
        {
            await gate.WaitAsync(ct);
            var (topic, payload) = GasReading(root, i, sensors, baseMs);
            var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            pending.Add(PublishOne(client, message, gate, ct));
            if (pending.Count >= window * 4)
            {
                pending.RemoveAll(t => t.IsCompletedSuccessfully);
            }
        }
        await Task.WhenAll(pending);
        await client.DisconnectAsync(cancellationToken: ct);
    }

    private static async Task PublishOne(IMqttClient client, MqttApplicationMessage message, SemaphoreSlim gate, CancellationToken ct)
    {
        try
        {
            var r = await client.PublishAsync(message, ct);
            if (!r.IsSuccess)
            {
                throw new InvalidOperationException($"publish refused: {r.ReasonCode}");
            }
        }
        finally
        {
            gate.Release();
        }
    }
}
