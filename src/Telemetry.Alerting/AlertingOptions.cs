using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;

namespace Telemetry.Alerting;

/// <summary>The alert service (<c>Telemetry:Alerts</c>). Rules live beside these under <c>Rules</c>; see docs/alerting.md.</summary>
public sealed class AlertingOptions
{
    public const string Section = "Telemetry:Alerts";

    /// <summary>A rules file (YAML or JSON, <c>Rules: {id: {option: value}}</c>) layered between the defaults and configuration.</summary>
    public string? RulesFile { get; set; }

    /// <summary>Where the engine's state survives restarts (written atomically).</summary>
    [Required]
    public string StateFile { get; set; } = "data/alerts-state.json";

    /// <summary>First segment of alert topics: <c>{TopicRoot}/{site}/{tunnel}/{sensor}/{rule}</c>.</summary>
    [Required]
    public string TopicRoot { get; set; } = "alerts";

    /// <summary>How long a reading's value stands for the time after it when no newer one comes (windows, clock-driven <c>for</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaxHold { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often the clock acts (stale, <c>for</c>, windows, repeat).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Messages (one sensor's readings each) waiting for the engine. When it is full, ingestion waits for the engine:
    /// 30,000 is about two seconds of a storm on a small box, so an alert in a backlog is at most that late (a 1M
    /// backlog drain also ran 5-10 % faster and in ~25 MB less memory than with 100,000; BENCHMARKS.md, fifth session).
    /// </summary>
    [Range(16, 10_000_000)]
    public int QueueCapacity { get; set; } = 30_000;

    /// <summary>When the queue is full, how long <c>Post</c> waits for room before it drops (and counts) the message.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PostTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Window-only changes are saved at most this often; transitions, acknowledgements and silences at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Events waiting per channel before the oldest is dropped (counted). MQTT, webhooks and e-mail keep only each
    /// alert's newest waiting event once more than 512 (or this many) wait, so for them it bounds different alerts.
    /// </summary>
    [Range(1, 1_000_000)]
    public int ChannelQueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// When a record channel's queue (InfluxDB <c>alerts</c>, the log) is full, how long alert evaluation waits for it
    /// to make room before the oldest event is dropped: the records keep every event through a burst (SPEC §7.5), and a
    /// stuck one holds alerting up at most this long (then it drops, and is not waited for until it takes events
    /// again). 0 drops at once. The default stays under the time the engine's queue absorbs a storm, so no reading
    /// skips evaluation because a record was slow.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan ChannelFullWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Alert events the MQTT channel publishes per second at most, after a burst of twice as many; 0: no bound. Beyond
    /// it the channel is behind and publishes each alert's newest event (every event is still in InfluxDB
    /// <c>alerts</c> and the log). Far above what a fleet's real transitions need, it keeps a storm of flapping alerts
    /// from taking the CPU and the broker that the readings need (docs/alerting.md).
    /// </summary>
    [Range(0, 1_000_000)]
    public int MqttEventsPerSecond { get; set; } = 1_000;

    public List<WebhookOptions> Webhooks { get; set; } = [];

    public EmailOptions Email { get; set; } = new();
}

/// <summary>One webhook (<c>Telemetry:Alerts:Webhooks:{n}</c>).</summary>
public sealed class WebhookOptions
{
    public string Url { get; set; } = "";

    /// <summary>HMAC-SHA256 key for <c>X-Telemetry-Signature</c>; from the environment, never the repository. Empty: unsigned.</summary>
    public string? Secret { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay; doubles per attempt (capped at 5 minutes), with ±50 % jitter.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>E-mail (<c>Telemetry:Alerts:Email</c>). Off while <see cref="Host"/> is empty.</summary>
public sealed class EmailOptions
{
    public string? Host { get; set; }
    public int Port { get; set; } = 587;

    /// <summary>TLS: implicit on port 465, STARTTLS (required) otherwise. False: plain SMTP (a local relay).</summary>
    public bool UseTls { get; set; } = true;
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string? From { get; set; }
    public List<string> To { get; set; } = [];

    /// <summary>Levels that are e-mailed (an event counts when its level or previous level is listed).</summary>
    public List<string> Levels { get; set; } = [];

    public int MaxAttempts { get; set; } = 3;
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Configured levels, or red (SPEC §7.4 default). A bound list cannot carry the default itself: binding appends.</summary>
    internal IReadOnlyList<string> EffectiveLevels => Levels.Count > 0 ? Levels : ["red"];
}

/// <summary>Cross-field checks, every error at once, each naming its key.</summary>
internal sealed class AlertingOptionsValidator : IValidateOptions<AlertingOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertingOptions o)
    {
        var errors = new List<string>();
        const string s = AlertingOptions.Section;
        if (!TopicPath.IsValidSegment(o.TopicRoot))
        {
            errors.Add($"{s}:TopicRoot: '{o.TopicRoot}' must match ^[A-Za-z0-9_-]{{1,64}}$");
        }
        for (var i = 0; i < o.Webhooks.Count; i++)
        {
            var w = o.Webhooks[i];
            if (!Uri.TryCreate(w.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{s}:Webhooks:{i}:Url: '{w.Url}' is not an http(s) URL");
            }
            if (w.Timeout <= TimeSpan.Zero)
            {
                errors.Add($"{s}:Webhooks:{i}:Timeout: must be positive");
            }
            if (w.MaxAttempts < 1)
            {
                errors.Add($"{s}:Webhooks:{i}:MaxAttempts: must be at least 1");
            }
            if (w.RetryDelay < TimeSpan.Zero)
            {
                errors.Add($"{s}:Webhooks:{i}:RetryDelay: must not be negative");
            }
        }
        var e = o.Email;
        if (!string.IsNullOrWhiteSpace(e.Host))
        {
            if (string.IsNullOrWhiteSpace(e.From))
            {
                errors.Add($"{s}:Email:From: required when Email:Host is set");
            }
            else if (!IsAddress(e.From))
            {
                errors.Add($"{s}:Email:From: '{e.From}' is not an e-mail address");
            }
            if (e.To.Count == 0)
            {
                errors.Add($"{s}:Email:To: at least one recipient is required when Email:Host is set");
            }
            for (var i = 0; i < e.To.Count; i++)
            {
                if (!IsAddress(e.To[i]))
                {
                    errors.Add($"{s}:Email:To:{i}: '{e.To[i]}' is not an e-mail address");
                }
            }
            if (e.RetryDelay < TimeSpan.Zero)
            {
                errors.Add($"{s}:Email:RetryDelay: must not be negative");
            }
            if (e.Timeout <= TimeSpan.Zero || e.Timeout.TotalMilliseconds > int.MaxValue)
            {
                errors.Add($"{s}:Email:Timeout: must be positive");
            }
            if (e.Port is < 1 or > 65535)
            {
                errors.Add($"{s}:Email:Port: {e.Port} is not a port");
            }
            foreach (var level in e.Levels.Where(l => l is not ("amber" or "red")))
            {
                errors.Add($"{s}:Email:Levels: '{level}' is not a level (amber, red)");
            }
            if (e.MaxAttempts < 1)
            {
                errors.Add($"{s}:Email:MaxAttempts: must be at least 1");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // What EmailAlertChannel's MailboxAddress.Parse will accept when it composes a message, checked now instead of at the first red alert.
    private static bool IsAddress(string? text) =>
        !string.IsNullOrWhiteSpace(text) && MimeKit.MailboxAddress.TryParse(text, out var m) && m.Address.Contains('@', StringComparison.Ordinal);
}
