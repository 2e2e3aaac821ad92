using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MimeKit;
using MQTTnet;
using MQTTnet.Protocol;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using Telemetry.Alerting.Notifications;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Notifications;

/// <summary>A real HTTP endpoint (Kestrel on a free loopback port) that records POSTs and answers with scripted statuses.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _script = new();

    public sealed record Delivery(byte[] Body, string? Signature, string? Timestamp, string? ContentType);

    private WebhookReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    public string Url { get; private set; } = "";

    /// <summary>A <c>Retry-After</c> sent with every scripted status.</summary>
    public string? RetryAfter { get; set; }

    /// <summary>Statuses to answer with, in order; then 200.</summary>
    public void Script(params int[] statuses)
    {
        foreach (var s in statuses)
        {
            _script.Enqueue(s);
        }
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app) { Url = $"http://127.0.0.1:{port}/hook" };
        app.MapPost("/hook", async (HttpContext http) =>
        {
            using var ms = new MemoryStream();
            await http.Request.Body.CopyToAsync(ms);
            receiver.Deliveries.Enqueue(new Delivery(ms.ToArray(), http.Request.Headers[WebhookAlertChannel.SignatureHeader],
                http.Request.Headers[WebhookAlertChannel.TimestampHeader], http.Request.ContentType));
            if (!receiver._script.TryDequeue(out var status))
            {
                return Results.StatusCode(200);
            }
            if (receiver.RetryAfter is { } retryAfter)
            {
                http.Response.Headers.RetryAfter = retryAfter;
            }
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A real SMTP server (the SmtpServer package) on a free loopback port, keeping what it receives.</summary>
internal sealed class SmtpReceiver : IDisposable
{
    private readonly SmtpServer.SmtpServer _server;
    private readonly Task _running;

    private SmtpReceiver(int port)
    {
        Port = port;
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(b => b.Endpoint(new IPEndPoint(IPAddress.Loopback, port))).Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(Messages));
        _server = new SmtpServer.SmtpServer(options, services);
        _running = _server.StartAsync(CancellationToken.None);
    }

    public int Port { get; }

    public ConcurrentQueue<MimeMessage> Messages { get; } = new();

    public static async Task<SmtpReceiver> StartAsync()
    {
        var receiver = new SmtpReceiver(FreePort.Next());
        await Poll.UntilAsync(() => FreePort.IsListening(receiver.Port), "the SMTP server to listen");
        return receiver;
    }

    public void Dispose()
    {
        _server.Shutdown();
        _running.Wait(TimeSpan.FromSeconds(5));
    }

    private sealed class Store(ConcurrentQueue<MimeMessage> messages) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            messages.Enqueue(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpResponse.Ok;
        }
    }
}

/// <summary>The lead's <see cref="IMqttPublisher"/>, as a test would write it: MQTTnet at QoS 1.</summary>
internal sealed class MqttNetPublisher : IMqttPublisher, IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    public static async Task<MqttNetPublisher> ConnectAsync(MosquittoServer broker)
    {
        var p = new MqttNetPublisher();
        await p._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("alerts-" + Guid.NewGuid().ToString("N")[..8]).Build());
        return p;
    }

    public async Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct) => await await StartPublishAsync(topic, payload, retain, ct);

    /// <summary>MQTTnet queues the message for the socket before <c>PublishAsync</c> returns: started in order, sent in order.</summary>
    public ValueTask<Task> StartPublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct) =>
        ValueTask.FromResult<Task>(CheckAsync(topic, _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct)));

    private static async Task CheckAsync(string topic, Task<MqttClientPublishResult> publishing)
    {
        var result = await publishing;
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"publish to {topic}: {result.ReasonCode}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisconnectAsync();
        _client.Dispose();
    }
}

/// <summary>Records what it is given (stands in for MQTT or any channel where the wire is not the point).</summary>
internal sealed class RecordingChannel(string name = "recording", bool honoursSilences = false) : IAlertChannel, IMqttPublisher, IAlertPointWriter
{
    public ConcurrentQueue<AlertEvent> Events { get; } = new();
    public ConcurrentQueue<(string Topic, byte[] Payload, bool Retain)> Published { get; } = new();

    public string Name => name;

    public bool HonoursSilences => honoursSilences;

    public Task SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        Events.Enqueue(alert);
        return Task.CompletedTask;
    }

    public ValueTask WriteAsync(AlertEvent e, CancellationToken ct)
    {
        Events.Enqueue(e);
        return ValueTask.CompletedTask;
    }

    public Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
    {
        Published.Enqueue((topic, payload, retain));
        return Task.CompletedTask;
    }
}

/// <summary>A channel that never finishes: proves the others do not wait for it.</summary>
internal sealed class StuckChannel : IAlertChannel
{
    public string Name => "stuck";

    public bool HonoursSilences => false;

    public Task SendAsync(AlertEvent alert, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);
}

/// <summary>
/// A subscriber that copies each payload while MQTTnet's handler runs: MQTTnet 5 may reuse the payload buffer
/// afterwards, so keeping the message object (as MqttTestClient does) can show another message's bytes.
/// </summary>
internal sealed class MqttProbe : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    public sealed record Message(string Topic, string Payload, bool Retain);

    public ConcurrentQueue<Message> Received { get; } = new();

    public static async Task<MqttProbe> SubscribeAsync(MosquittoServer broker, string filter)
    {
        var probe = new MqttProbe();
        probe._client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            probe.Received.Enqueue(new Message(m.Topic, System.Text.Encoding.UTF8.GetString(m.Payload.ToArray()), m.Retain));
            return Task.CompletedTask;
        };
        await probe._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("probe-" + Guid.NewGuid().ToString("N")[..8]).Build());
        await probe._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());
        return probe;
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisconnectAsync();
        _client.Dispose();
    }
}
