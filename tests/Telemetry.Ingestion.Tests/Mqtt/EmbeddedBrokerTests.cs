using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Mqtt;

public sealed class EmbeddedBrokerTests
{
    // The zero-setup broker takes anonymous clients: Telemetry:Mqtt:EmbeddedBindAddress (default 127.0.0.1) must be the
    // only address it listens on. MQTTnet also listens on [::] unless told not to, so anyone on the network could
    // publish readings or acknowledge alerts over IPv6.
    [Fact]
    public async Task BoundToIPv4Loopback_AcceptsNoConnectionOnIPv6()
    {
        var port = FreePort.Next();
        using var broker = new EmbeddedBroker(Options.Create(new MqttOptions { Host = "", Port = port, EmbeddedBindAddress = "127.0.0.1" }),
            NullLogger<EmbeddedBroker>.Instance);
        await broker.StartAsync(CancellationToken.None);
        try
        {
            using var client = new MqttClientFactory().CreateMqttClient();
            var connected = false;
            try
            {
                var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
                    .WithTcpServer("::1", port).WithClientId("intruder").WithTimeout(TimeSpan.FromSeconds(3)).Build());
                connected = result.ResultCode == MqttClientConnectResultCode.Success;
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or SocketException or OperationCanceledException)
            {
                // refused, as it should be
            }
            Assert.False(connected, $"the embedded broker bound to 127.0.0.1 took a connection on [::1]:{port}");
        }
        finally
        {
            await broker.StopAsync(CancellationToken.None);
        }
    }

    // Bound to another address (one the sensors on the network can reach), the service must still reach its own broker.
    [Fact]
    public async Task BoundToAnotherAddress_TheServiceStillConnectsToIt()
    {
        await using var service = new IngestionService(null, FreePort.Next(), null, "unused", new Dictionary<string, string?>
        {
            ["Telemetry__Mqtt__EmbeddedBindAddress"] = "127.0.0.2",
        });
        await service.StartAndWaitReadyAsync(TimeSpan.FromSeconds(30));
    }
}
