using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using MQTTnet;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>
/// Credentials and TLS (SPEC §8–9) against a real mosquitto: a listener with a certificate from a CA of the test's
/// own, a password file and no anonymous access. Both of the service's connections (subscribing, and publishing
/// alerts) must use the configured CA and credentials.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecureBrokerTests : IAsyncLifetime
{
    private const string User = "ingestion";
    private const string Password = "s3cret-for-tests";
    private MosquittoServer _broker = null!;
    private string _caFile = "";
    private X509Certificate2Collection _trust = [];
    private string _brokerDir = "";

    public async Task InitializeAsync()
    {
        var (caPem, certPem, keyPem, ca) = IssueCertificates();
        _trust = [ca];
        // Files the broker reads live in its own folder; the CA is also what the service trusts.
        var brokerDir = _brokerDir = Directory.CreateTempSubdirectory("secure-broker-").FullName;
        _caFile = Path.Combine(brokerDir, "ca.pem");
        await File.WriteAllTextAsync(_caFile, caPem);
        await File.WriteAllTextAsync(Path.Combine(brokerDir, "server.pem"), certPem);
        await File.WriteAllTextAsync(Path.Combine(brokerDir, "server.key"), keyPem);
        var passwd = Path.Combine(brokerDir, "passwd");
        await using (var tool = new ServerProcess("mosquitto_passwd", "/usr/bin/mosquitto_passwd", ["-c", "-b", passwd, User, Password]))
        {
            tool.Start();
            Assert.Equal(0, await tool.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        }
        // mosquitto started as root reads these after dropping to its own user.
        File.SetUnixFileMode(brokerDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var file in Directory.GetFiles(brokerDir))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        _broker = await MosquittoServer.StartAsync(extraConfig:
        [
            $"cafile {_caFile}",
            $"certfile {Path.Combine(brokerDir, "server.pem")}",
            $"keyfile {Path.Combine(brokerDir, "server.key")}",
            $"password_file {passwd}",
            "allow_anonymous false",
        ]);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        Directory.Delete(_brokerDir, recursive: true);
    }

    private Dictionary<string, string?> Secure(string password) => new()
    {
        ["Telemetry__Mqtt__UseTls"] = "true",
        ["Telemetry__Mqtt__CaFile"] = _caFile,
        ["Telemetry__Mqtt__Username"] = User,
        ["Telemetry__Mqtt__Password"] = password,
    };

    private Task<MqttTestClient> ConnectAsync() => MqttTestClient.ConnectAsync(_broker.Host, _broker.Port, configure: b => b
        .WithCredentials(User, Password)
        .WithTlsOptions(t => t.UseTls().WithTrustChain(_trust)));

    [Fact]
    public async Task TlsWithCredentials_ReadingsAreStoredAndAlertsPublished()
    {
        var influx = await InfluxServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName("tls");
        await using var service = new IngestionService(_broker.Host, _broker.Port, influx.Url, db, Secure(Password));
        await service.StartAndWaitReadyAsync();
        await using var client = await ConnectAsync();
        await client.SubscribeAsync(service.AlertsRoot + "/#");

        await client.PublishAsync($"{service.TopicRoot}/kukes/t03/gas/gas-0007", $$$"""{"ts":{{{Feed.BaseMs() + 3_000_000}}},"values":{"ch4_lel_pct":25}}""");

        await Poll.UntilAsync(async () => await influx.CountAsync(db, "gas", "ch4_lel_pct") == 1, "the reading stored via the TLS subscription");
        var alert = await Poll.ForAsync(() => Task.FromResult(client.Received.Where(m => m.Topic.EndsWith("/ch4-lel", StringComparison.Ordinal)).ToList()),
            m => m.Count > 0, "the alert published over the service's second TLS connection");
        Assert.Equal("raised", JsonDocument.Parse(alert[0].Payload).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task WrongPassword_IsReportedOnceNamingTheSettings_AndTheServiceIsNotReady()
    {
        await using var service = new IngestionService(_broker.Host, _broker.Port, null, "unused", Secure("wrong"));
        service.Start();
        // mosquitto answers NotAuthorized; other brokers say BadUserNameOrPassword. Either way: said once, retried.
        static int Count(string output, string text) => output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));
        await Poll.UntilAsync(() => Count(service.Output, "MQTT connection to") >= 3, "three refused attempts");
        Assert.Equal(1, Count(service.Output, "MQTT broker refused the connection"));
        Assert.Contains("NotAuthorized", service.Output, StringComparison.Ordinal);
        Assert.Contains("Telemetry:Mqtt:Username/Password", service.Output, StringComparison.Ordinal);
        using var ready = await service.Http.GetAsync(new Uri($"http://127.0.0.1:{service.HttpPort}/health/ready"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    /// <summary>A CA and a server certificate for 127.0.0.1/localhost signed by it, as PEM.</summary>
    private static (string CaPem, string CertPem, string KeyPem, X509Certificate2 Ca) IssueCertificates()
    {
        var now = TimeProvider.System.GetUtcNow();
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Tunnel Telemetry test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.Create(ca, now.AddDays(-1), now.AddDays(30), [1, 2, 3, 4, 5, 6, 7, 8]);
        return (ca.ExportCertificatePem(), cert.ExportCertificatePem(), key.ExportRSAPrivateKeyPem(), ca);
    }
}
