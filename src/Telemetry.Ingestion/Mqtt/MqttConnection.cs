using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using Telemetry.Ingestion.Configuration;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// What every connection of the service to the broker shares: host, MQTT 5, keep-alive, credentials and TLS.
/// The subscribing and the alert-publishing connection differ only in client id and session.
/// </summary>
internal static class MqttConnection
{
    /// <param name="o">The broker settings.</param>
    /// <param name="clientId">The connection's client id.</param>
    /// <param name="ackQuickly">
    /// TCP acknowledgements at once (<see cref="QuickAckNetworkStream"/>): for the alert publisher, whose PUBACKs a broker
    /// with Nagle's algorithm on would otherwise hold 40 ms. Not for the readings: there our PUBACKs carry the TCP
    /// acknowledgement within milliseconds anyway, and acknowledging every segment of a drain cost 15 % more CPU.
    /// </param>
    public static MqttClientOptionsBuilder Options(MqttOptions o, string clientId, bool ackQuickly = false)
    {
        var b = new MqttClientOptionsBuilder()
            .WithTcpServer(o.BrokerHost, o.Port)
            // Bulk reads and grouped writes (BulkSocketStream): a third of the system calls per reading.
            .WithStreamProvider(new BulkSocketStreamProvider(ackQuickly))
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(clientId)
            .WithKeepAlivePeriod(o.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (o.Username.Length > 0)
        {
            b.WithCredentials(o.Username, o.Password);
        }
        if (o.UseTls)
        {
            b.WithTlsOptions(t =>
            {
                t.UseTls().WithAllowUntrustedCertificates(o.AllowUntrustedCertificates)
                    .WithIgnoreCertificateChainErrors(o.AllowUntrustedCertificates);
                if (o.CaFile.Length > 0)
                {
                    var chain = new X509Certificate2Collection();
                    chain.ImportFromPemFile(o.CaFile);
                    t.WithTrustChain(chain);
                }
                if (o.AllowUntrustedCertificates)
                {
                    t.WithCertificateValidationHandler(_ => true);
                }
            });
        }
        return b;
    }
}
