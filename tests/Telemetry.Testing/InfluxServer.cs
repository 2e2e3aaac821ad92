using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Telemetry.Testing;

/// <summary>
/// A real InfluxDB 1.x (Debian's <c>influxdb</c> package) on free loopback ports in its own temporary folder,
/// with helpers to run InfluxQL. Tests each use their own database, so one server can serve many tests.
/// </summary>
public sealed class InfluxServer : IAsyncDisposable
{
    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static InfluxServer? _shared;
    private readonly TempDir _dir = new("influxd");
    private readonly ServerProcess _process;
    private readonly HttpClient _http;
    private readonly string _adminPassword = Guid.NewGuid().ToString("N");

    public const string AdminUser = "admin";

    private InfluxServer(bool auth)
    {
        HttpPort = FreePort.Next();
        var bindPort = FreePort.Next();
        var conf = _dir.Combine("influxdb.conf");
        var d = _dir.Path;
        File.WriteAllText(conf, $$"""
            reporting-disabled = true
            bind-address = "127.0.0.1:{{bindPort}}"
            [meta]
              dir = "{{d}}/meta"
            [data]
              dir = "{{d}}/data"
              wal-dir = "{{d}}/wal"
              index-version = "inmem"
              query-log-enabled = false
            [monitor]
              store-enabled = false
            [subscriber]
              enabled = false
            [continuous_queries]
              enabled = false
            [http]
              enabled = true
              bind-address = "127.0.0.1:{{HttpPort}}"
              auth-enabled = {{(auth ? "true" : "false")}}
              log-enabled = false
              max-body-size = 100000000
            [logging]
              level = "warn"
              suppress-logo = true
            """);
        // INFLUXDB_* variables in the environment would override the file.
        var env = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("INFLUXDB_", StringComparison.Ordinal))
            .ToDictionary(k => k, _ => (string?)null);
        _process = new ServerProcess("influxd", Executable, ["run", "-config", conf], env);
        _http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
    }

    public const string Executable = "/usr/bin/influxd";

    public int HttpPort { get; }

    public string Url => $"http://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}";

    public ServerProcess Process => _process;

    /// <summary>One server shared by the tests that only need a database of their own.</summary>
    public static async Task<InfluxServer> SharedAsync()
    {
        await SharedGate.WaitAsync();
        try
        {
            return _shared ??= await StartAsync();
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>
    /// Starts a private server (for tests that stop, freeze or restart it). With <paramref name="auth"/> it checks
    /// credentials, and this fixture talks to it as <see cref="AdminUser"/>, with a password made up for the run.
    /// </summary>
    public static async Task<InfluxServer> StartAsync(bool auth = false)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: run the README's test command, which installs influxdb");
        }
        var server = new InfluxServer(auth);
        await server.StartAgainAsync();
        if (auth)
        {
            // The first user may be created without credentials, as long as it is an admin.
            await server.QueryAsync(null, $"CREATE USER {AdminUser} WITH PASSWORD '{server._adminPassword}' WITH ALL PRIVILEGES", post: true);
            server._http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{AdminUser}:{server._adminPassword}")));
        }
        return server;
    }

    public async Task StartAgainAsync()
    {
        _process.Start();
        await Poll.UntilAsync(async () =>
        {
            if (!_process.IsRunning)
            {
                throw new InvalidOperationException($"influxd exited:\n{_process.Tail()}");
            }
            using var r = await _http.GetAsync(new Uri("/ping", UriKind.Relative));
            return (int)r.StatusCode == 204;
        }, $"influxd to answer /ping on {HttpPort}", TimeSpan.FromSeconds(60));
    }

    public Task StopAsync() => _process.StopAsync();

    /// <summary>A fresh database name for one test.</summary>
    public static string NewDatabaseName(string prefix = "t") => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 17, 40)];

    public async Task CreateDatabaseAsync(string db) => await QueryAsync(null, $"CREATE DATABASE \"{db}\"", post: true);

    /// <summary>Runs InfluxQL and returns the parsed JSON response; throws when the server reports an error.</summary>
    public async Task<JsonDocument> QueryAsync(string? db, string query, bool post = false)
    {
        var form = new Dictionary<string, string> { ["q"] = query, ["epoch"] = "ms" };
        if (db is not null)
        {
            form["db"] = db;
        }
        using var content = new FormUrlEncodedContent(form);
        using var response = post
            ? await _http.PostAsync(new Uri("/query", UriKind.Relative), content)
            : await _http.GetAsync(new Uri("/query?" + await content.ReadAsStringAsync(), UriKind.Relative));
        var doc = await response.Content.ReadFromJsonAsync<JsonDocument>() ?? throw new InvalidOperationException("empty response");
        if (!response.IsSuccessStatusCode || Error(doc) is { } err)
        {
            throw new InvalidOperationException($"InfluxQL '{query}' failed: {(int)response.StatusCode} {Error(doc) ?? doc.RootElement.ToString()}");
        }
        return doc;
    }

    /// <summary>The rows of the first series as dictionaries of column → value (JSON), in time order.</summary>
    public async Task<List<Dictionary<string, JsonElement>>> RowsAsync(string db, string query)
    {
        using var doc = await QueryAsync(db, query);
        var rows = new List<Dictionary<string, JsonElement>>();
        var result = doc.RootElement.GetProperty("results")[0];
        if (!result.TryGetProperty("series", out var series))
        {
            return rows;
        }
        foreach (var s in series.EnumerateArray())
        {
            var tags = s.TryGetProperty("tags", out var t) ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone()) : [];
            var columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToArray();
            foreach (var v in s.GetProperty("values").EnumerateArray())
            {
                var row = new Dictionary<string, JsonElement>(tags);
                var i = 0;
                foreach (var cell in v.EnumerateArray())
                {
                    row[columns[i++]] = cell.Clone();
                }
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary><c>SELECT count(field) FROM measurement</c> (0 when there is nothing, or no such database yet).</summary>
    public async Task<long> CountAsync(string db, string measurement, string field, string where = "")
    {
        try
        {
            var rows = await RowsAsync(db, $"SELECT count(\"{field}\") FROM \"{measurement}\" {where}");
            return rows.Count == 0 ? 0 : rows.Sum(r => r["count"].GetInt64());
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("database not found", StringComparison.Ordinal))
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        _dir.Dispose();
    }

    private static string? Error(JsonDocument doc)
    {
        if (doc.RootElement.TryGetProperty("error", out var e))
        {
            return e.GetString();
        }
        if (doc.RootElement.TryGetProperty("results", out var results))
        {
            foreach (var r in results.EnumerateArray())
            {
                if (r.TryGetProperty("error", out var re))
                {
                    return re.GetString();
                }
            }
        }
        return null;
    }
}
