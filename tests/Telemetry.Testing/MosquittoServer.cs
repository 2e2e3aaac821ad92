using System.Globalization;

namespace Telemetry.Testing;

/// <summary>A real mosquitto (Debian's package) on a free loopback port in its own temporary folder.</summary>
public sealed class MosquittoServer : IAsyncDisposable
{
    private readonly TempDir _dir = new("mosquitto");
    private readonly ServerProcess _process;

    private MosquittoServer(bool persistence, int maxInflight, IReadOnlyList<string> extra)
    {
        Port = FreePort.Next();
        var conf = _dir.Combine("mosquitto.conf");
        File.WriteAllText(conf, string.Join('\n', (string[])[
            $"listener {Port.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            // Extra lines (TLS files, a password file) may turn anonymous access off.
            extra.Any(l => l.StartsWith("allow_anonymous", StringComparison.Ordinal)) ? "" : "allow_anonymous true",
            $"persistence {(persistence ? "true" : "false")}",
            $"persistence_location {_dir.Path}/",
            // The service bounds its own in-flight window with the MQTT 5 receive maximum; the broker must not cap
            // it lower (its default of 20 would throttle acknowledge-after-durable to 20 messages per fsync).
            $"max_inflight_messages {maxInflight.ToString(CultureInfo.InvariantCulture)}",
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_timestamp true",
            .. extra,
            ""]));
        _process = new ServerProcess("mosquitto", Executable, ["-c", conf]);
    }

    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static MosquittoServer? _shared;

    public const string Executable = "/usr/sbin/mosquitto";

    /// <summary>One broker shared by tests that do not stop it; each test uses its own topic root and client ids.</summary>
    public static async Task<MosquittoServer> SharedAsync()
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

    public int Port { get; }

    public string Host => "127.0.0.1";

    public string Log => _process.Output;

    public bool IsRunning => _process.IsRunning;

    /// <summary>The broker's process, for signals: SIGSTOP holds every reply, SIGKILL ends every connection at once.</summary>
    public ServerProcess Process => _process;

    /// <summary>The broker's own folder, for files its configuration names (certificates, a password file).</summary>
    public string Directory => _dir.Path;

    /// <summary>Starts a broker and waits until it accepts connections.</summary>
    public static async Task<MosquittoServer> StartAsync(bool persistence = false, int maxInflight = 0, IReadOnlyList<string>? extraConfig = null)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: run the README's test command, which installs mosquitto");
        }
        var server = new MosquittoServer(persistence, maxInflight, extraConfig ?? []);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the broker again on the same port and folder (its persisted state, if any, is reloaded).</summary>
    public async Task StartAgainAsync()
    {
        _process.Start();
        await Poll.UntilAsync(() => !_process.IsRunning ? throw new InvalidOperationException($"mosquitto exited:\n{_process.Tail()}") : FreePort.IsListening(Port),
            $"mosquitto to listen on {Port}");
    }

    /// <summary>Stops the broker cleanly (SIGTERM: it saves its persistence file) and waits for the port to close.</summary>
    public async Task StopAsync()
    {
        await _process.StopAsync();
        await Poll.UntilAsync(() => !FreePort.IsListening(Port), $"port {Port} to close");
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
