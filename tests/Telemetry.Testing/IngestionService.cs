using System.Globalization;
using System.Net.Http.Json;

namespace Telemetry.Testing;

/// <summary>
/// The ingestion service as a real process (its built dll), configured only through the SPEC §9 environment
/// variables, with its own topic root, client id, database, spool folder and HTTP port. Needs a project reference to
/// src/Telemetry.Ingestion in the test project (which copies the service next to the tests).
/// </summary>
public sealed class IngestionService : IAsyncDisposable
{
    private readonly TempDir _dir = new("ingest");
    private readonly Dictionary<string, string?> _env;
    private ServerProcess _process;

    // workingDirectory: where the process starts; by default the service's own directory.
    public IngestionService(string? mqttHost, int mqttPort, string? influxUrl, string database, IDictionary<string, string?>? extra = null, string? workingDirectory = null)
    {
        _workingDirectory = workingDirectory;
        HttpPort = FreePort.Next();
        TopicRoot = "t" + Guid.NewGuid().ToString("N")[..10];
        Database = database;
        _env = new Dictionary<string, string?>
        {
            ["Telemetry__Mqtt__Host"] = mqttHost ?? "",
            ["Telemetry__Mqtt__Port"] = mqttPort.ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Mqtt__ClientId"] = "ingest-" + TopicRoot,
            ["Telemetry__Mqtt__TopicRoot"] = TopicRoot,
            ["Telemetry__Mqtt__ReconnectMaxDelay"] = "00:00:01",
            ["Telemetry__Influx__Url"] = influxUrl ?? "",
            ["Telemetry__Influx__ApiVersion"] = "1",
            ["Telemetry__Influx__Database"] = database,
            ["Telemetry__Influx__RetryMaxDelay"] = "00:00:01",
            ["Telemetry__Influx__Timeout"] = "00:00:03",
            ["Telemetry__Spool__Directory"] = _dir.Combine("spool"),
            ["Telemetry__Ingestion__Instance"] = "test-" + TopicRoot,
            ["Telemetry__Ingestion__StatsInterval"] = "00:00:01",
            ["Telemetry__Alerts__StateFile"] = AlertStateFile,
            ["Telemetry__Alerts__TopicRoot"] = "a" + TopicRoot,
            ["Telemetry__Api__Key"] = ApiKey,
            ["urls"] = $"http://127.0.0.1:{HttpPort}",
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            _env[k] = v;
        }
        _process = NewProcess();
    }

    public const string ApiKey = "test-api-key";

    public int HttpPort { get; }

    public string AlertsRoot => "a" + TopicRoot;
    public string TopicRoot { get; }
    public string Database { get; }
    public string SpoolDirectory => _dir.Combine("spool");
    public string AlertStateFile => _dir.Combine("alerts-state.json");
    public ServerProcess Process => _process;
    public string Output => _process.Output;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Sets (or removes, with null) an environment variable for the next start.</summary>
    public void Set(string key, string? value) => _env[key] = value;

    /// <summary>The service's dll, copied next to the tests by their project reference to src/Telemetry.Ingestion.</summary>
    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "Telemetry.Ingestion.dll");

    public void Start() => _process.Start();

    /// <summary>Starts the process and waits until <c>/health/ready</c> answers 200.</summary>
    public async Task StartAndWaitReadyAsync(TimeSpan? timeout = null)
    {
        Start();
        await WaitReadyAsync(timeout);
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200; fails at once, with its output, if the process exits.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        // An exit ends the wait (Poll retries what throws, so the exit is reported after it, not from inside).
        await Poll.UntilAsync(async () =>
        {
            if (!_process.IsRunning)
            {
                return true;
            }
            using var r = await Http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/health/ready"));
            return r.IsSuccessStatusCode;
        }, "the service to be ready", timeout ?? TimeSpan.FromSeconds(60));
        if (!_process.IsRunning)
        {
            throw new InvalidOperationException($"service exited with {_process.ExitCode} before it was ready:\n{_process.Tail()}");
        }
    }

    /// <summary>Prepares a fresh process object with the current environment (for restarts).</summary>
    public async Task RestartAsync(bool kill = false)
    {
        if (kill)
        {
            await _process.KillAsync();
        }
        else
        {
            await _process.StopAsync(TimeSpan.FromSeconds(60));
        }
        _process = NewProcess();
        await StartAndWaitReadyAsync();
    }

    public void Renew() => _process = NewProcess();

    public async Task<string> GetAsync(string path) =>
        await Http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}{path}"));

    public async Task<T?> GetJsonAsync<T>(string path) =>
        await Http.GetFromJsonAsync<T>(new Uri($"http://127.0.0.1:{HttpPort}{path}"));

    /// <summary>A metric's value from <c>/metrics</c> (0 when absent).</summary>
    public async Task<double> MetricAsync(string name)
    {
        foreach (var line in (await GetAsync("/metrics")).Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.DisposeAsync();
        _dir.Dispose();
    }

    private readonly string? _workingDirectory;

    private ServerProcess NewProcess() =>
        new("ingestion", "dotnet", [DllPath], _env, _workingDirectory ?? Path.GetDirectoryName(DllPath));
}
