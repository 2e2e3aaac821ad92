using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using MQTTnet;
using MQTTnet.Protocol;
using Telemetry.Testing;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Deployment.Tests.Mosquitto;

/// <summary>
/// The committed broker configuration (deploy/mosquitto) run by a real mosquitto: the password file is made by the
/// compose file's own mosquitto-passwd command, then each account's topic rights are tried over MQTT 5.
/// Paths and ports are moved to a temporary folder and free loopback ports; nothing else is changed.
/// </summary>
public sealed partial class BrokerConfigTests(BrokerConfigTests.Broker broker) : IClassFixture<BrokerConfigTests.Broker>
{
    [Fact]
    public async Task Anonymous_IsRefused_OnTheAuthenticatedListener()
    {
        var (client, code) = await ConnectAsync(broker.Authenticated, null);
        using (client)
        {
            Assert.NotEqual(MqttClientConnectResultCode.Success, code);
        }
        var (wrong, wrongCode) = await ConnectAsync(broker.Authenticated, ("sensor", "not-the-password"));
        using (wrong)
        {
            // mosquitto answers a wrong password with "not authorized" (0x87).
            Assert.Contains(wrongCode, new[] { MqttClientConnectResultCode.BadUserNameOrPassword, MqttClientConnectResultCode.NotAuthorized });
        }
    }

    [Fact]
    public async Task Sensor_PublishesReadings_AndNothingElse()
    {
        using var sensor = await ConnectedAsync(broker.Authenticated, "sensor");
        await AssertAllowedAsync(sensor, $"tunnels/acl/t01/gas/{Unique()}");
        await AssertDeniedAsync(sensor, $"alerts/acl/t01/{Unique()}/co-instant");
        await AssertDeniedAsync(sensor, $"alerts/ack/{Unique()}");
        await AssertDeniedAsync(sensor, $"elsewhere/{Unique()}");
    }

    [Fact]
    public async Task Ingestion_ReadsReadingsAndAcks_WritesAlerts_ButNoReadings()
    {
        var received = new ConcurrentQueue<string>();
        using var ingestion = await ConnectedAsync(broker.Authenticated, "ingestion", received);
        await SubscribeAsync(ingestion, "tunnels/#");
        await SubscribeAsync(ingestion, "alerts/ack/#");
        using var sensor = await ConnectedAsync(broker.Authenticated, "sensor");
        using var officer = await ConnectedAsync(broker.Authenticated, "officer");
        var reading = $"tunnels/acl/t02/gas/{Unique()}";
        var ack = $"alerts/ack/acl/t02/{Unique()}/co-instant";
        await AssertAllowedAsync(sensor, reading);
        await AssertAllowedAsync(officer, ack);
        await Poll.UntilAsync(() => received.Contains(reading) && received.Contains(ack), "the service account to receive a reading and an acknowledgement");

        await AssertAllowedAsync(ingestion, $"alerts/acl/t02/{Unique()}/co-instant");
        await AssertDeniedAsync(ingestion, $"tunnels/acl/t02/gas/{Unique()}");

        // At start the service reads its own retained alerts back (to repair what a crash kept from being published).
        var alert = $"alerts/acl/t02/{Unique()}/co-instant";
        await SubscribeAsync(ingestion, "alerts/+/+/+/+");
        await AssertAllowedAsync(ingestion, alert);
        await Poll.UntilAsync(() => received.Contains(alert), "the service account to read an alert back");
    }

    [Fact]
    public async Task Officer_ReadsAlerts_ButPublishesOnlyAcknowledgements()
    {
        var received = new ConcurrentQueue<string>();
        using var officer = await ConnectedAsync(broker.Authenticated, "officer", received);
        await SubscribeAsync(officer, "alerts/#");
        using var ingestion = await ConnectedAsync(broker.Authenticated, "ingestion");
        var alert = $"alerts/acl/t03/{Unique()}/ch4-lel";
        await AssertAllowedAsync(ingestion, alert);
        await Poll.UntilAsync(() => received.Contains(alert), "the officer account to receive an alert");
        await AssertDeniedAsync(officer, $"alerts/acl/t03/{Unique()}/ch4-lel");
        await AssertDeniedAsync(officer, $"tunnels/acl/t03/gas/{Unique()}");
    }

    [Fact]
    public async Task SimulatorListener_IsAnonymous_AndTakesOnlyReadings()
    {
        var (simulator, code) = await ConnectAsync(broker.Simulator, null);
        using (simulator)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, code);
            await AssertAllowedAsync(simulator, $"tunnels/acl/t04/strain/{Unique()}");
            await AssertDeniedAsync(simulator, $"alerts/acl/t04/{Unique()}/strain-abs");
        }
    }

    [Fact]
    public async Task ComposeHealthCheck_Passes()
    {
        var test = Yaml.Seq(Yaml.Map(Yaml.Map(Yaml.Map(Yaml.Load(Repo.PathOf("docker-compose.yml")), "services"), "mosquitto"), "healthcheck"), "test")
            .Select(n => n.ToString().Replace("$$", "$", StringComparison.Ordinal)).ToList();
        Assert.Equal("CMD", test[0]);
        var port = test.IndexOf("-p");
        Assert.Equal(Broker.HealthPort.ToString(System.Globalization.CultureInfo.InvariantCulture), test[port + 1]);
        test[port + 1] = broker.Health.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (rc, output) = await Broker.RunAsync(test[1], test[2..], null);
        Assert.True(rc == 0, $"{string.Join(' ', test)} exited {rc}: {output}");
    }

    private static string Unique() => Guid.NewGuid().ToString("N")[..10];

    private async Task<IMqttClient> ConnectedAsync(int port, string user, ConcurrentQueue<string>? received = null)
    {
        var (client, code) = await ConnectAsync(port, (user, broker.Passwords[user]), received);
        Assert.Equal(MqttClientConnectResultCode.Success, code);
        return client;
    }

    private static async Task<(IMqttClient Client, MqttClientConnectResultCode Code)> ConnectAsync(int port, (string User, string Password)? credentials, ConcurrentQueue<string>? received = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        if (received is not null)
        {
            client.ApplicationMessageReceivedAsync += e =>
            {
                received.Enqueue(e.ApplicationMessage.Topic);
                return Task.CompletedTask;
            };
        }
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("acl-" + Unique()).WithCleanStart(true);
        if (credentials is { } c)
        {
            options.WithCredentials(c.User, c.Password);
        }
        var result = await client.ConnectAsync(options.Build());
        return (client, result.ResultCode);
    }

    private static async Task SubscribeAsync(IMqttClient client, string filter)
    {
        var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, Assert.Single(result.Items).ResultCode);
    }

    private static async Task<MqttClientPublishReasonCode> PublishAsync(IMqttClient client, string topic) =>
        (await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("{}")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build())).ReasonCode;

    private static async Task AssertAllowedAsync(IMqttClient client, string topic)
    {
        var code = await PublishAsync(client, topic);
        Assert.True(code is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers, $"publish to {topic}: {code}");
    }

    private static async Task AssertDeniedAsync(IMqttClient client, string topic) =>
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await PublishAsync(client, topic));

    /// <summary>One mosquitto running deploy/mosquitto/mosquitto.conf for the tests of this class.</summary>
    public sealed partial class Broker : IAsyncLifetime
    {
        public const int HealthPort = 1880;
        private readonly TempDir _dir = new("mosquitto-conf");
        private ServerProcess? _process;

        public int Authenticated { get; } = FreePort.Next();
        public int Simulator { get; } = FreePort.Next();
        public int Health { get; } = FreePort.Next();
        public Dictionary<string, string> Passwords { get; } = [];

        public async Task InitializeAsync()
        {
            // Started as root, mosquitto drops to its own user, which must reach the files as it would in the image.
            const UnixFileMode open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            File.SetUnixFileMode(_dir.Path, open);
            var auth = _dir.Combine("auth");
            Directory.CreateDirectory(auth);
            Directory.CreateDirectory(_dir.Combine("data"), open | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite);
            await MakePasswordFileAsync(auth);

            var conf = File.ReadAllText(Repo.PathOf("deploy", "mosquitto", "mosquitto.conf"));
            var rewritten = conf;
            foreach (var (from, to) in new[]
            {
                ("listener 1883\n", $"listener {Authenticated} 127.0.0.1\n"),
                ("listener 1884\n", $"listener {Simulator} 127.0.0.1\n"),
                ($"listener {HealthPort} 127.0.0.1\n", $"listener {Health} 127.0.0.1\n"),
                ("/mosquitto/auth/", auth + "/"),
                ("/mosquitto/data/", _dir.Combine("data") + "/"),
                ("/mosquitto/config/", Repo.PathOf("deploy", "mosquitto") + "/"),
            })
            {
                Assert.Contains(from, rewritten, StringComparison.Ordinal);
                rewritten = rewritten.Replace(from, to, StringComparison.Ordinal);
            }
            var path = _dir.Combine("mosquitto.conf");
            await File.WriteAllTextAsync(path, rewritten);
            _process = new ServerProcess("mosquitto", MosquittoServer.Executable, ["-c", path]);
            _process.Start();
            await Poll.UntilAsync(() => !_process.IsRunning ? throw new InvalidOperationException($"mosquitto exited:\n{_process.Tail()}")
                : FreePort.IsListening(Authenticated) && FreePort.IsListening(Simulator) && FreePort.IsListening(Health), "mosquitto to listen");
        }

        /// <summary>Runs the compose file's mosquitto-passwd command, with its password variables set and its folder moved.</summary>
        private async Task MakePasswordFileAsync(string auth)
        {
            var service = Yaml.Map(Yaml.Map(Yaml.Load(Repo.PathOf("docker-compose.yml")), "services"), "mosquitto-passwd");
            var script = Yaml.Seq(service, "command")[0].ToString()
                .Replace("$$", "$", StringComparison.Ordinal)
                .Replace("/mosquitto/auth", auth, StringComparison.Ordinal);
            var env = new Dictionary<string, string?>();
            foreach (var key in ((YamlMappingNode)Yaml.Get(service, "environment")!).Children.Keys.Select(k => k.ToString()))
            {
                env[key] = "pw-" + Guid.NewGuid().ToString("N");
            }
            foreach (Match m in UserAndVariable().Matches(script))
            {
                Passwords[m.Groups["user"].Value] = env[m.Groups["var"].Value]!;
            }
            Assert.Equal(["ingestion", "officer", "sensor"], Passwords.Keys.Order(StringComparer.Ordinal));
            var (rc, output) = await RunAsync("/bin/sh", ["-c", script], env);
            Assert.True(rc == 0, $"the mosquitto-passwd command failed ({rc}): {output}");
        }

        public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string?>? env)
        {
            var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var (k, v) in env ?? new Dictionary<string, string?>())
            {
                start.Environment[k] = v;
            }
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(deadline.Token);
            return (process.ExitCode, await stdout + await stderr);
        }

        public async Task DisposeAsync()
        {
            if (_process is not null)
            {
                await _process.DisposeAsync();
            }
            _dir.Dispose();
        }

        [GeneratedRegex(@"mosquitto_passwd (-c )?-b \S+ (?<user>\w+) ""\$(?<var>\w+)""")]
        private static partial Regex UserAndVariable();
    }
}
