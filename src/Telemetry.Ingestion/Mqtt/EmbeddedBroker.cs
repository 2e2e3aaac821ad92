using System.Net;
using Microsoft.Extensions.Options;
using MQTTnet.Server;
using Telemetry.Ingestion.Configuration;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// Zero-setup mode: with no <c>Telemetry:Mqtt:Host</c> the service runs its own MQTT broker (MQTTnet.Server) and
/// subscribes to it, so one <c>dotnet run</c> works with nothing else installed. Sessions live in memory only.
/// </summary>
internal sealed class EmbeddedBroker(IOptions<MqttOptions> options, ILogger<EmbeddedBroker> logger) : IHostedService, IDisposable
{
    private MqttServer? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.UseEmbeddedBroker)
        {
            return;
        }
        var factory = new MqttServerFactory();
        // MQTTnet listens on IPv4 *and* [::] unless told otherwise: bind only the configured address.
        var bind = IPAddress.Parse(o.EmbeddedBindAddress);
        var isV6 = bind.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var serverOptions = factory.CreateServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(isV6 ? IPAddress.None : bind)
            .WithDefaultEndpointBoundIPV6Address(isV6 ? bind : IPAddress.None)
            .WithDefaultEndpointPort(o.Port)
            .WithPersistentSessions()
            // The service is the broker's main subscriber; let its queue absorb bursts instead of dropping.
            .WithMaxPendingMessagesPerClient(1_000_000)
            .Build();
        _server = factory.CreateMqttServer(serverOptions);
        _server.ValidatingConnectionAsync += e =>
        {
            // MQTT 5 clients may connect without an id; give them one instead of refusing.
            if (string.IsNullOrEmpty(e.ClientId))
            {
                e.AssignedClientIdentifier = "client-" + Guid.NewGuid().ToString("N")[..12];
            }
            return Task.CompletedTask;
        };
        await _server.StartAsync();
        Log.EmbeddedBrokerStarted(logger, o.EmbeddedBindAddress, o.Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync();
        }
    }

    public void Dispose() => _server?.Dispose();
}
