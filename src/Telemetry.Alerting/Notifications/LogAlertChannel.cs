using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>One structured log line per event (SPEC §7.4 channel 5).</summary>
internal sealed class LogAlertChannel(ILogger<LogAlertChannel> logger) : IAlertChannel
{
    public string Name => "log";

    public bool HonoursSilences => false;

    public bool WaitsWhenFull => true;

    public Task SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        Log.AlertEvent(logger, alert.AlertId, alert.State, alert.Level, alert.PreviousLevel, alert.Value, alert.Threshold, alert.Ts, alert.Backlog, alert.Repeat, alert.Message);
        return Task.CompletedTask;
    }
}

/// <summary>Hands every event to the ingestion service's InfluxDB writer (<c>alerts</c> measurement). Never silenced.</summary>
internal sealed class InfluxAlertChannel(IAlertPointWriter writer) : IAlertChannel
{
    public string Name => "influxdb";

    public bool HonoursSilences => false;

    /// <summary>The <c>alerts</c> measurement is the record of every event (SPEC §7.5).</summary>
    public bool WaitsWhenFull => true;

    /// <summary>
    /// Everything waiting, in one round: a round costs one spool append (one fsync, which may wait behind a large append
    /// of readings), so the more it carries the less this record of every event falls behind in a storm.
    /// </summary>
    public int MaxGroup => int.MaxValue;

    public async Task SendAsync(AlertEvent alert, CancellationToken cancellationToken) => await writer.WriteAsync(alert, cancellationToken);

    /// <summary>The whole group in one write (for the service: one spool append, one fsync).</summary>
    public async Task SendManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failures);
        try
        {
            await writer.WriteManyAsync(alerts, cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
        {
            Array.Fill(failures, ex, 0, alerts.Count);
        }
    }
}
