using System.Diagnostics;
using System.Text.RegularExpressions;
using Telemetry.Contracts;
using YamlDotNet.RepresentationModel;

namespace Telemetry.Deployment.Tests.Compose;

/// <summary>
/// docker-compose.yml checked without a Docker engine (none runs here): pinned images, mounts that exist, SPEC §9
/// configuration keys for the service, health checks, secrets only from .env.
/// </summary>
public sealed partial class ComposeFileTests
{
    private static readonly YamlMappingNode Compose = Yaml.Load(Repo.PathOf("docker-compose.yml"));
    private static readonly string ComposeText = Repo.Read("docker-compose.yml");

    private static IEnumerable<(string Name, YamlMappingNode Service)> Services() =>
        Yaml.Map(Compose, "services").Children.Select(kv => (((YamlScalarNode)kv.Key).Value!, (YamlMappingNode)kv.Value));

    private static YamlMappingNode Service(string name) => Yaml.Map(Yaml.Map(Compose, "services"), name);

    /// <summary>
    /// Every option the service has: the keys of its appsettings.json (which lists each option with its default), as
    /// environment variables. A compose key outside this set would be silently ignored by the service.
    /// </summary>
    private static readonly HashSet<string> ServiceKeys = FlattenSettings();

    private static HashSet<string> FlattenSettings()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal) { "urls" };
        using var doc = System.Text.Json.JsonDocument.Parse(Repo.Read("src/Telemetry.Ingestion/appsettings.json"));
        void Walk(System.Text.Json.JsonElement e, string prefix)
        {
            if (e.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    Walk(p.Value, prefix.Length == 0 ? p.Name : prefix + "__" + p.Name);
                }
            }
            else
            {
                keys.Add(prefix);
            }
        }
        Walk(doc.RootElement.GetProperty("Telemetry"), "Telemetry");
        return keys;
    }

    /// <summary>The configuration keys of SPEC §9 as environment variables.</summary>
    private static readonly HashSet<string> SpecKeys =
    [
        "Telemetry__Mqtt__Host", "Telemetry__Mqtt__Port", "Telemetry__Mqtt__ClientId", "Telemetry__Mqtt__Username",
        "Telemetry__Mqtt__Password", "Telemetry__Mqtt__TopicRoot", "Telemetry__Influx__Url", "Telemetry__Influx__ApiVersion",
        "Telemetry__Influx__Database", "Telemetry__Influx__Org", "Telemetry__Influx__Bucket", "Telemetry__Influx__Token",
        "Telemetry__Influx__Username", "Telemetry__Influx__Password", "Telemetry__Spool__Directory", "Telemetry__Registry__File",
        "Telemetry__Registry__Strict", "Telemetry__Alerts__RulesFile", "urls",
    ];

    [Fact]
    public void Stack_HasTheServicesOfTheProduct()
    {
        Assert.Equal(["grafana", "influxdb", "ingestion", "mosquitto", "mosquitto-passwd", "simulator"], Services().Select(s => s.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["simulator"], Yaml.Seq(Service("simulator"), "profiles").Select(p => p.ToString()));
    }

    [Fact]
    public void Images_ArePinnedToARelease()
    {
        foreach (var (name, service) in Services())
        {
            var image = Yaml.Str(service, "image");
            if (image is null)
            {
                var build = Yaml.Map(service, "build");
                Assert.Equal(".", Yaml.Str(build, "context"));
                var dockerfile = Repo.PathOf(Yaml.Str(build, "dockerfile")!);
                Assert.True(File.Exists(dockerfile), $"{name}: {dockerfile} is missing");
                foreach (Match from in FromLine().Matches(File.ReadAllText(dockerfile)))
                {
                    AssertPinned(from.Groups["image"].Value, $"{name} ({Path.GetFileName(dockerfile)})");
                }
                continue;
            }
            AssertPinned(image, name);
        }
        Assert.Equal("influxdb", Yaml.Str(Service("influxdb"), "image")!.Split(':')[0]);
        var influx = Version.Parse(Yaml.Str(Service("influxdb"), "image")!.Split(':')[1]);
        Assert.True(influx.Major == 2 && influx.Minor >= 5, $"InfluxDB {influx}: 2.5 or later 2.x is needed for the virtual DBRP mapping InfluxQL uses");
    }

    [Fact]
    public void MountedFiles_ExistInTheRepository()
    {
        var named = Keys(Yaml.Map(Compose, "volumes")).ToHashSet();
        foreach (var (name, service) in Services())
        {
            foreach (var volume in Yaml.Get(service, "volumes") is YamlSequenceNode v ? v.Children.Select(c => c.ToString()) : [])
            {
                var source = volume.Split(':')[0];
                if (source.StartsWith("./", StringComparison.Ordinal))
                {
                    Assert.True(Path.Exists(Repo.PathOf(source[2..])), $"{name} mounts {source}, which is not in the repository");
                    Assert.EndsWith(":ro", volume, StringComparison.Ordinal);
                }
                else
                {
                    Assert.True(named.Contains(source), $"{name} mounts volume {source}, which is not declared");
                }
            }
        }
        var conf = File.ReadAllText(Repo.PathOf("deploy", "mosquitto", "mosquitto.conf"));
        foreach (Match m in Regex.Matches(conf, @"/mosquitto/config/(?<file>[\w.-]+)"))
        {
            Assert.True(File.Exists(Repo.PathOf("deploy", "mosquitto", m.Groups["file"].Value)), $"mosquitto.conf names {m.Value}, which is not in deploy/mosquitto");
        }
    }

    [Fact]
    public void IngestionService_GetsOnlyOptionsTheServiceHas_PointingAtTheStack()
    {
        var env = Environment(Service("ingestion"));
        Assert.DoesNotContain(env.Keys, k => !ServiceKeys.Contains(k) && !k.StartsWith("Telemetry__Alerts__Rules__", StringComparison.Ordinal));
        Assert.Subset(ServiceKeys, SpecKeys);
        Assert.Equal("mosquitto", env["Telemetry__Mqtt__Host"]);
        Assert.Equal("http://influxdb:8086", env["Telemetry__Influx__Url"]);
        Assert.Equal("2", env["Telemetry__Influx__ApiVersion"]);
        Assert.Equal(Schema.DefaultDatabase, env["Telemetry__Influx__Bucket"]);
        Assert.Equal(Schema.DefaultDatabase, Environment(Service("influxdb"))["DOCKER_INFLUXDB_INIT_BUCKET"]);
        Assert.Equal("http://0.0.0.0:8080", env["urls"]);
        Assert.Contains("ingestion-spool:" + env["Telemetry__Spool__Directory"], Yaml.Seq(Service("ingestion"), "volumes").Select(v => v.ToString()));
        Assert.Equal(["CMD", "/usr/local/bin/http-health", "8080", "/health/ready"], Yaml.Seq(Yaml.Map(Service("ingestion"), "healthcheck"), "test").Select(t => t.ToString()));
        Assert.Contains(Yaml.Str(Service("ingestion"), "stop_grace_period"), new[] { "30s", "60s" });
    }

    [Fact]
    public void EveryLongRunningService_HasAHealthCheck()
    {
        foreach (var (name, service) in Services())
        {
            if (Yaml.Str(service, "restart") == "no")
            {
                // A one-shot job: the services that need it wait for it to complete instead.
                Assert.Contains(Services(), s => Yaml.Get(s.Service, "depends_on") is YamlMappingNode d
                    && Yaml.Get(d, name) is YamlMappingNode c && Yaml.Str(c, "condition") == "service_completed_successfully");
                continue;
            }
            var check = Yaml.Map(service, "healthcheck");
            Assert.True(Yaml.Seq(check, "test").Count >= 2, $"{name}: empty health check");
        }
    }

    [Fact]
    public void Secrets_ComeOnlyFromEnvFile_WithoutDefaults()
    {
        foreach (var (name, service) in Services())
        {
            foreach (var (key, value) in Environment(service))
            {
                if (SecretKey().IsMatch(key))
                {
                    Assert.True(RequiredVariable().IsMatch(value), $"{name}: {key} must be ${{VAR:?...}} from .env, not '{value}'");
                }
            }
        }
        Assert.DoesNotMatch(@"\$\{[A-Z0-9_]*(PASSWORD|TOKEN|SECRET)[A-Z0-9_]*:?-", ComposeText);
        Assert.Equal("false", Environment(Service("grafana"))["GF_AUTH_ANONYMOUS_ENABLED"]);
        Assert.Contains(".env", File.ReadAllLines(Repo.PathOf(".gitignore")));
    }

    [Fact]
    public void EnvExample_CoversEveryVariable_WithObviousPlaceholders()
    {
        var example = File.ReadAllLines(Repo.PathOf(".env.example"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);
        var used = Variable().Matches(ComposeText).Select(m => m.Groups["name"].Value).ToHashSet();
        Assert.Empty(used.Except(example.Keys));
        Assert.Empty(example.Keys.Except(used));
        foreach (var (key, value) in example.Where(e => SecretKey().IsMatch(e.Key)))
        {
            Assert.StartsWith("change-me", value, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The file stays within what Debian's docker-compose 1.29 accepts. That binary validates the file without an
    /// engine; the test command does not install it, so it runs only where /usr/bin/docker-compose exists, and the
    /// YAML-level rules it would enforce are asserted either way.
    /// </summary>
    [Fact]
    public async Task File_StaysWithinDockerCompose129()
    {
        Assert.Empty(Keys(Compose).Except(["services", "volumes", "networks", "secrets", "configs"]));
        foreach (var (name, service) in Services())
        {
            if (Yaml.Get(service, "healthcheck") is YamlMappingNode check)
            {
                Assert.True(Yaml.Get(check, "start_interval") is null, $"{name}: healthcheck start_interval is newer than docker-compose 1.29");
            }
            Assert.Null(Yaml.Get(service, "develop"));
        }

        const string binary = "/usr/bin/docker-compose";
        if (!File.Exists(binary))
        {
            return;
        }
        var start = new ProcessStartInfo(binary, ["--env-file", ".env.example", "-f", "docker-compose.yml", "--profile", "simulator", "config", "-q"])
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, $"docker-compose config failed ({process.ExitCode}): {await stderr}{await stdout}");
    }

    private static void AssertPinned(string image, string where)
    {
        var tag = image.Contains(':', StringComparison.Ordinal) ? image[(image.LastIndexOf(':') + 1)..] : "";
        Assert.True(PinnedTag().IsMatch(tag), $"{where}: image '{image}' is not pinned to a major.minor[.patch] release");
    }

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        Yaml.Get(service, "environment") is YamlMappingNode env
            ? env.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? "")
            : [];

    private static IEnumerable<string> Keys(YamlMappingNode map) => Yaml.Keys(map);

    [GeneratedRegex(@"^\d+\.\d+(\.\d+)?$")]
    private static partial Regex PinnedTag();

    [GeneratedRegex(@"^FROM\s+(--platform=\S+\s+)?(?<image>\S+)", RegexOptions.Multiline)]
    private static partial Regex FromLine();

    [GeneratedRegex("PASSWORD|TOKEN|SECRET")]
    private static partial Regex SecretKey();

    [GeneratedRegex(@"^\$\{[A-Z0-9_]+:\?[^}]*\}$")]
    private static partial Regex RequiredVariable();

    [GeneratedRegex(@"(?<!\$)\$\{(?<name>[A-Z0-9_]+)")]
    private static partial Regex Variable();
}
