using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.Testing;

/// <summary>A real MQTT 5 client for tests: publishes at QoS 1 and records what it receives.</summary>
public sealed class MqttTestClient : IAsyncDisposable
{
    private readonly IMqttClient _client;

    private MqttTestClient(IMqttClient client) => _client = client;

    /// <summary>What arrived, copied on arrival (MQTTnet reuses a message's payload buffer after the handler returns).</summary>
    public ConcurrentQueue<ReceivedMessage> Received { get; } = new();

    /// <summary>Connects with a clean session; <paramref name="configure"/> adds to the options (TLS, credentials).</summary>
    public static async Task<MqttTestClient> ConnectAsync(string host, int port, string? clientId = null, Action<MqttClientOptionsBuilder>? configure = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var wrapper = new MqttTestClient(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            wrapper.Received.Enqueue(new ReceivedMessage(m.Topic, System.Buffers.BuffersExtensions.ToArray(m.Payload), m.Retain));
            return Task.CompletedTask;
        };
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(clientId ?? "test-" + Guid.NewGuid().ToString("N")[..12])
            .WithCleanStart(true);
        configure?.Invoke(builder);
        var result = await client.ConnectAsync(builder.Build());
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"test client could not connect: {result.ResultCode}");
        }
        return wrapper;
    }

    public Task PublishAsync(string topic, string payload, bool retain = false, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce) =>
        PublishAsync(topic, System.Text.Encoding.UTF8.GetBytes(payload), retain, qos);

    public async Task PublishAsync(string topic, byte[] payload, bool retain = false, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(qos)
            .WithRetainFlag(retain)
            .Build();
        var result = await _client.PublishAsync(message);
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"publish to {topic} failed: {result.ReasonCode}");
        }
    }

    public async Task SubscribeAsync(string filter)
    {
        var options = new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build();
        await _client.SubscribeAsync(options);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }
        _client.Dispose();
    }
}

/// <summary>A message as a test sees it: topic, a copy of the payload, and the retain flag.</summary>
public sealed record ReceivedMessage(string Topic, byte[] Payload, bool Retain)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Payload);
}
