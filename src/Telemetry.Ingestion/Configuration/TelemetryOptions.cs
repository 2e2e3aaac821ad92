using System.ComponentModel.DataAnnotations;
using Telemetry.Contracts;

namespace Telemetry.Ingestion.Configuration;

/// <summary><c>Telemetry:Mqtt</c> — the broker the service subscribes to (SPEC §8–9).</summary>
public sealed class MqttOptions
{
    public const string Section = "Telemetry:Mqtt";

    /// <summary>Broker host. Empty: start the embedded broker and connect to it (zero-setup mode).</summary>
    public string Host { get; set; } = "";

    /// <summary>Broker port; also the embedded broker's port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 1883;

    /// <summary>Fixed client id: the broker keeps the persistent session under it.</summary>
    [Required, MinLength(1), MaxLength(64)]
    public string ClientId { get; set; } = "tunnel-telemetry-ingestion";

    public string Username { get; set; } = "";
    public string Password { get; set; } = "";

    /// <summary>First topic segment of reading topics; the service subscribes to <c>{TopicRoot}/#</c>.</summary>
    [Required]
    public string TopicRoot { get; set; } = "tunnels";

    /// <summary>Connect with TLS.</summary>
    public bool UseTls { get; set; }

    /// <summary>PEM file of the CA that signs the broker's certificate (TLS); empty: the system's trust store.</summary>
    public string CaFile { get; set; } = "";

    /// <summary>Accept any broker certificate. For a lab only.</summary>
    public bool AllowUntrustedCertificates { get; set; }

    /// <summary>How long the broker keeps the session (and queues readings) while the service is away.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "49710.00:00:00")]
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(7);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// MQTT 5 receive maximum: how many unacknowledged readings messages the broker may have in flight to us.
    /// Bounds memory; large enough that acknowledging after the spool's fsync never starves the pipeline.
    /// </summary>
    [Range(1, 65535)]
    public int ReceiveMaximum { get; set; } = 8192;

    /// <summary>First reconnect delay; doubles (with jitter) up to <see cref="ReconnectMaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Address the embedded broker binds to (zero-setup mode only).</summary>
    [Required]
    public string EmbeddedBindAddress { get; set; } = "127.0.0.1";

    public bool UseEmbeddedBroker => string.IsNullOrWhiteSpace(Host);

    /// <summary>Where the service connects: the configured host, or the embedded broker on loopback.</summary>
    public string BrokerHost => !UseEmbeddedBroker ? Host
        : !System.Net.IPAddress.TryParse(EmbeddedBindAddress, out var bind) || bind.Equals(System.Net.IPAddress.Any) ? "127.0.0.1"
        : bind.Equals(System.Net.IPAddress.IPv6Any) ? "::1"
        : bind.ToString();
}

/// <summary><c>Telemetry:Influx</c> — where readings are forwarded (SPEC §6, §9).</summary>
public sealed class InfluxOptions
{
    public const string Section = "Telemetry:Influx";

    /// <summary>Base URL. Empty: keep readings in the spool until one is configured (store and forward).</summary>
    public string Url { get; set; } = "";

    /// <summary><c>1</c> for InfluxDB 1.x (<c>/write</c>, database, user/password); <c>2</c> for 2.x/3.x (org, bucket, token).</summary>
    [Range(1, 2)]
    public int ApiVersion { get; set; } = 2;

    /// <summary>1.x database, created at start if missing.</summary>
    public string Database { get; set; } = Schema.DefaultDatabase;

    /// <summary>1.x retention policy; empty: the database's default.</summary>
    public string RetentionPolicy { get; set; } = "";

    public string Org { get; set; } = "";
    public string Bucket { get; set; } = Schema.DefaultDatabase;
    public string Token { get; set; } = "";
    public string Username { get; set; } = "";
    public string Password { get; set; } = "";

    /// <summary>Timeout of one write request.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Lines per write request (InfluxData recommends about 5,000).</summary>
    [Range(1, 1_000_000)]
    public int BatchLines { get; set; } = 5000;

    /// <summary>
    /// When fewer than <see cref="BatchLines"/> lines are waiting, at most one write request per interval: a steady
    /// stream goes to InfluxDB in a few large requests instead of many small ones (each costs InfluxDB a WAL fsync).
    /// A full batch is written at once. <c>0</c>: write whatever is waiting as soon as the previous write is done.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Gzip request bodies (SPEC §8: batches of about 5,000 lines, gzip). Next to the service (loopback, a LAN)
    /// compression costs both the service and InfluxDB CPU and saves nothing that matters (1M-reading drains ran 9–10 %
    /// faster without it, BENCHMARKS.md): turn it off there.
    /// </summary>
    public bool Gzip { get; set; } = true;

    /// <summary>First retry delay for transient failures; doubles with jitter up to <see cref="RetryMaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryMinDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retry delay after 401/403: credentials rarely fix themselves, so retry slowly.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan AuthRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Url);
}

/// <summary><c>Telemetry:Spool</c> — the local durable spool (SPEC §8).</summary>
public sealed class SpoolOptions
{
    public const string Section = "Telemetry:Spool";

    [Required]
    public string Directory { get; set; } = "data/spool";

    /// <summary>Cap on the spool's size on disk. At the cap the service stops acknowledging; the broker holds the rest.</summary>
    [Range(1024 * 1024L, long.MaxValue)]
    public long MaxBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Size at which a new segment file is started; whole forwarded segments are deleted.</summary>
    [Range(64 * 1024L, 4L * 1024 * 1024 * 1024)]
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary><c>Telemetry:Ingestion</c> — validation limits (SPEC §4) and the pipeline's tuning.</summary>
public sealed class IngestionOptions
{
    public const string Section = "Telemetry:Ingestion";

    /// <summary>The <c>instance</c> tag of rejected and ingest_stats rows; default: the machine name.</summary>
    public string Instance { get; set; } = "";

    [Range(1, 64 * 1024 * 1024)]
    public int MaxPayloadBytes { get; set; } = 256 * 1024;

    [Range(1, 10_000_000)]
    public int MaxReadingsPerMessage { get; set; } = 10_000;

    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "00:00:01", "36500.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Most messages made durable with one fsync (a group commit).</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchMessages { get; set; } = 4096;

    /// <summary>
    /// While more than <see cref="GroupCommitLingerAbove"/> messages a second arrive, how long a group waits for more
    /// before its fsync: fewer, larger group commits. 0 turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan GroupCommitLinger { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The arrival rate (messages a second, over the last 100 ms) from which groups linger.</summary>
    [Range(0, 100_000_000)]
    public int GroupCommitLingerAbove { get; set; } = 10_000;

    /// <summary>How often ingest_stats is written and rejection summaries are logged.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>On SIGTERM: how long to keep forwarding the spool to InfluxDB before exiting (what is left stays spooled).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public DecodeLimits ToLimits() => new()
    {
        MaxPayloadBytes = MaxPayloadBytes,
        MaxReadings = MaxReadingsPerMessage,
        MaxFuture = MaxFutureSkew,
        MaxAge = MaxAge,
    };

    public string InstanceOrMachine => string.IsNullOrWhiteSpace(Instance) ? Environment.MachineName : Instance;
}
