using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Alerts;
using ZLogger;

namespace Telemetry.Alerting;

/// <summary>Log lines of the alerting area; event ids 4000-4099.</summary>
internal static partial class Log
{
    /// <summary>
    /// One line per event, in a storm thousands a second: ZLogger's generator writes it into the log's UTF-8 buffer
    /// without building the message as a string first (the service logs through ZLogger; any other logger still gets
    /// the same text and properties).
    /// </summary>
    [ZLoggerMessage(4000, LogLevel.Information, "Alert {alertId} {state} level={level} previous={previousLevel} value={value} threshold={threshold} ts={ts:O} backlog={backlog} repeat={repeat}: {message}")]
    public static partial void AlertEvent(ILogger logger, string alertId, AlertState state, string level, string? previousLevel, double? value, double? threshold, DateTimeOffset ts, bool backlog, bool repeat, string message);

    [LoggerMessage(4001, LogLevel.Warning, "Alert engine queue is full: waiting up to {TimeoutMs} ms for room (the engine is behind ingestion)")]
    public static partial void QueueFull(ILogger logger, double timeoutMs);

    [LoggerMessage(4002, LogLevel.Error, "Alert engine queue stayed full for {TimeoutMs} ms: readings of {Sensor} were NOT evaluated for alerts ({Dropped} dropped so far)")]
    public static partial void QueueDropped(ILogger logger, double timeoutMs, string sensor, long dropped);

    [LoggerMessage(4003, LogLevel.Error, "Could not save the alert state to {Path}; will retry after the next change")]
    public static partial void SaveFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(4004, LogLevel.Error, "The alert state file {Path} cannot be read; it was moved to {Moved} and alerting starts from an empty state")]
    public static partial void StateUnreadable(ILogger logger, Exception exception, string path, string moved);

    [LoggerMessage(4005, LogLevel.Information, "Alert state restored from {Path}: {Sensors} sensors, {Active} active alerts, {Silences} silences ({Journal} journal records replayed)")]
    public static partial void StateRestored(ILogger logger, string path, int sensors, int active, int silences, int journal);

    [LoggerMessage(4006, LogLevel.Warning, "Alert state journal {Path}: the last {Bytes} bytes cannot be read (a write cut off by a crash; that batch was never dispatched); they were left out after {Records} records and cut off, so the journal goes on after the last whole record")]
    public static partial void JournalTail(ILogger logger, string path, long bytes, int records);

    [LoggerMessage(4010, LogLevel.Warning, "Alert channel {Channel} is behind: dropped {Dropped} of the oldest queued events since the last report (latest {AlertId} {State}); counted in telemetry_alert_channel_events_total")]
    public static partial void ChannelQueueFull(ILogger logger, string channel, long dropped, string alertId, AlertState state);

    [LoggerMessage(4015, LogLevel.Information, "Alert channel {Channel} at shutdown: {Delivered} delivered, {Superseded} superseded, {Dropped} dropped, {Failed} failed, {Silenced} silenced since the start")]
    public static partial void ChannelTotals(ILogger logger, string channel, long delivered, long superseded, long dropped, long failed, long silenced);

    [LoggerMessage(4016, LogLevel.Warning, "Alert channel {Channel} is behind: {Superseded} waiting events were replaced by a newer event of the same alert since the last report (latest {AlertId}); each alert's newest state still goes out; counted in telemetry_alert_channel_events_total")]
    public static partial void ChannelCoalescing(ILogger logger, string channel, long superseded, string alertId);

    [LoggerMessage(4017, LogLevel.Warning, "Alert channel {Channel} is full: alert evaluation waited for it {Waits} times since the last report, rather than drop an event; counted in telemetry_alert_channel_full_waits_total")]
    public static partial void ChannelFullWait(ILogger logger, string channel, long waits);

    [LoggerMessage(4018, LogLevel.Error, "Alert channel {Channel} made no room in {WaitMs} ms: it is treated as stuck and drops its oldest events until it takes events again")]
    public static partial void ChannelStuck(ILogger logger, string channel, double waitMs);

    [LoggerMessage(4011, LogLevel.Error, "Alert channel {Channel} failed to deliver {AlertId} {State}")]
    public static partial void ChannelFailed(ILogger logger, Exception exception, string channel, string alertId, AlertState state);

    [LoggerMessage(4012, LogLevel.Warning, "Alert channel {Channel} stopped before delivering {AlertId}")]
    public static partial void ChannelStopped(ILogger logger, string channel, string alertId);

    [LoggerMessage(4013, LogLevel.Warning, "Webhook {Channel}: delivery of {AlertId} failed (attempt {Attempt}: {Failure}); retrying in {DelaySeconds:0.#} s")]
    public static partial void WebhookRetry(ILogger logger, string channel, string alertId, int attempt, string failure, double delaySeconds);

    [LoggerMessage(4014, LogLevel.Warning, "E-mail of {AlertId} failed (attempt {Attempt}: {Failure}); retrying in {DelaySeconds:0.#} s")]
    public static partial void EmailRetry(ILogger logger, string alertId, int attempt, string failure, double delaySeconds);

    [LoggerMessage(4020, LogLevel.Warning, "Telemetry:Api:Key is not set: the mutating alert endpoints (acknowledge, silences) refuse every request with 401")]
    public static partial void NoApiKey(ILogger logger);

    [LoggerMessage(4021, LogLevel.Information, "Alert {AlertId} acknowledged by {By}")]
    public static partial void Acknowledged(ILogger logger, string alertId, string by);

    [LoggerMessage(4022, LogLevel.Warning, "Alert channel {Channel} is at its bound of {PerSecond} events a second (Telemetry:Alerts:MqttEventsPerSecond) or behind: {Superseded} waiting events were replaced by a newer event of the same alert since the last report (latest {AlertId}); each alert's newest state still goes out, and InfluxDB and the log keep every event; counted in telemetry_alert_channel_events_total")]
    public static partial void ChannelCoalescingAtBound(ILogger logger, string channel, int perSecond, long superseded, string alertId);

    [LoggerMessage(4023, LogLevel.Information, "MQTT retained alerts read at start: {Retained} retained, {Corrections} brought up to date with the saved alert state (transitions a crash kept from being published)")]
    public static partial void RetainedReconciled(ILogger logger, int retained, int corrections);

    [LoggerMessage(4024, LogLevel.Warning, "Could not read the broker's retained alerts to compare them with the saved alert state ({Reason}); trying again in {Seconds} s")]
    public static partial void RetainedUnread(ILogger logger, string reason, double seconds);
}
