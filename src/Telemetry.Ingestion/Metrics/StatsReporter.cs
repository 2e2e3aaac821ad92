using Microsoft.Extensions.Options;
using Prometheus;
using Telemetry.Alerting;
using Telemetry.Contracts;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Ingestion.Metrics;

/// <summary>
/// Every <see cref="IngestionOptions.StatsInterval"/>: refreshes the time-based gauges, writes one
/// <c>ingest_stats</c> row through the spool (so it reaches InfluxDB like any reading), and closes the rejection-log
/// interval.
/// </summary>
internal sealed class StatsReporter(
    IngestMetrics metrics,
    DurableSpool spool,
    PointFactory points,
    RejectionLog rejectionLog,
    IAlertService alerts,
    IOptions<IngestionOptions> options,
    TimeProvider time) : BackgroundService
{
    private double _lastStored;
    private double _lastLatencySum;
    private long _lastLatencyCount;
    private double _latencyMs;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.StatsInterval;
        using var timer = new PeriodicTimer(interval, time);
        var batch = new SpoolBatch();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Refresh(interval);
                rejectionLog.EndInterval();
                // Stats are not worth waiting for space: at the cap the spool is for readings.
                if (spool.IsFull)
                {
                    continue;
                }
                batch.Clear();
                batch.Add(points.Stats(Fields()), isReading: false);
                batch.CreatedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                await spool.AppendAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal void Refresh(TimeSpan interval)
    {
        var oldest = spool.OldestPendingCreatedMs();
        metrics.SpoolOldestAge.Set(oldest is { } ms ? Math.Max(0, (time.GetUtcNow().ToUnixTimeMilliseconds() - ms) / 1000.0) : 0);
        metrics.ActiveAlerts.Set(alerts.ActiveAlerts().Count);
        metrics.SyncAlerts();
        var stored = metrics.ReadingsStored.Value;
        metrics.ForwardRate.Set((stored - _lastStored) / interval.TotalSeconds);
        _lastStored = stored;
    }

    internal IEnumerable<KeyValuePair<string, double>> Fields()
    {
        yield return new(IngestStatsFields.MessagesReceived, metrics.MessagesReceived.Value);
        yield return new(IngestStatsFields.ReadingsAccepted, metrics.ReadingsAccepted.Value);
        yield return new(IngestStatsFields.ReadingsStored, metrics.ReadingsStored.Value);
        var total = 0.0;
        foreach (var reason in RejectionReasons.All)
        {
            var v = metrics.Rejections.WithLabels(reason.Name()).Value;
            total += v;
            yield return new(IngestStatsFields.RejectedPrefix + reason.Name(), v);
        }
        yield return new(IngestStatsFields.Rejections, total);
        yield return new(IngestStatsFields.AlertEvents, metrics.AlertEvents.Value);
        yield return new(IngestStatsFields.AlertQueueDropped, metrics.AlertQueueDropped.Value);
        yield return new(IngestStatsFields.WriteRetries, metrics.WriteRetries.Value);
        foreach (var c in IngestStatsFields.WriteFailureClasses)
        {
            yield return new(IngestStatsFields.WriteFailuresPrefix + c, metrics.WriteFailures.WithLabels(c).Value);
        }
        // A gauge at write time: the mean of the writes since the last row (the previous value when none finished),
        // not the mean since the start, which a day of fast writes keeps low through an outage.
        var latency = metrics.WriteLatency;
        var (sum, count) = (latency.Sum, latency.Count);
        if (count > _lastLatencyCount)
        {
            _latencyMs = (sum - _lastLatencySum) / (count - _lastLatencyCount) * 1000.0;
            (_lastLatencySum, _lastLatencyCount) = (sum, count);
        }
        yield return new(IngestStatsFields.WriteLatencyMs, _latencyMs);
        yield return new(IngestStatsFields.SpoolReadings, metrics.SpoolReadings.Value);
        yield return new(IngestStatsFields.SpoolBytes, metrics.SpoolBytes.Value);
        yield return new(IngestStatsFields.SpoolOldestAgeS, metrics.SpoolOldestAge.Value);
        yield return new(IngestStatsFields.MqttConnected, metrics.MqttConnected.Value);
        yield return new(IngestStatsFields.ActiveAlerts, metrics.ActiveAlerts.Value);
    }
}
