using Prometheus;
using Telemetry.Contracts;

namespace Telemetry.Ingestion.Metrics;

/// <summary>
/// The service's own numbers (SPEC §10), in a registry of their own: served as Prometheus text on <c>/metrics</c>
/// and written to <c>ingest_stats</c> every interval. Counters count since the process started.
/// </summary>
internal sealed class IngestMetrics
{
    public IngestMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        MessagesReceived = f.CreateCounter("telemetry_messages_received_total", "MQTT messages received on the readings and acknowledgement topics.");
        ReadingsAccepted = f.CreateCounter("telemetry_readings_accepted_total", "Valid readings made durable in the spool (and acknowledged).");
        GroupCommits = f.CreateCounter("telemetry_group_commits_total", "Groups of messages made durable with one fsync and acknowledged together.");
        ReadingsStored = f.CreateCounter("telemetry_readings_stored_total", "Readings InfluxDB accepted.");
        Rejections = f.CreateCounter("telemetry_rejections_total", "Quarantined input by SPEC §5 reason.", "reason");
        AlertEvents = f.CreateCounter("telemetry_alert_events_total", "Alert transition events produced.");
        WriteRetries = f.CreateCounter("telemetry_influx_write_retries_total", "InfluxDB write attempts retried.");
        WriteFailures = f.CreateCounter("telemetry_influx_write_failures_total", "InfluxDB write failures by class.", "class");
        AcksDropped = f.CreateCounter("telemetry_mqtt_acks_dropped_total", "Acknowledgements not sent because their connection was gone (the broker redelivers).");
        WriteLatency = f.CreateHistogram("telemetry_influx_write_duration_seconds", "Duration of one InfluxDB write request.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        AlertPublishLatency = f.CreateHistogram("telemetry_alert_publish_duration_seconds",
            "From handing an alert event to the broker (QoS 1) to its PUBACK: how long the broker takes to accept alerts.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 13) });
        SpoolReadings = f.CreateGauge("telemetry_spool_readings", "Readings in the spool not yet accepted by InfluxDB.");
        SpoolBytes = f.CreateGauge("telemetry_spool_bytes", "Bytes of spool files on disk.");
        SpoolOldestAge = f.CreateGauge("telemetry_spool_oldest_age_seconds", "Age of the oldest reading not yet accepted by InfluxDB.");
        SpoolFull = f.CreateGauge("telemetry_spool_full", "1 while the spool is at its cap and acknowledging has stopped.");
        ForwardRate = f.CreateGauge("telemetry_forward_readings_per_second", "Readings forwarded to InfluxDB per second over the last stats interval.");
        MqttConnected = f.CreateGauge("telemetry_mqtt_connected", "1 while connected and subscribed to the broker.");
        ActiveAlerts = f.CreateGauge("telemetry_active_alerts", "Alerts currently active.");
        AlertChannelEvents = f.CreateCounter("telemetry_alert_channel_events_total",
            "Alert events per channel and outcome: delivered, superseded (a newer event of the same alert took its place while the channel was behind), dropped (the channel's queue was full), failed, silenced.", "channel", "outcome");
        AlertChannelFullWaits = f.CreateCounter("telemetry_alert_channel_full_waits_total",
            "Times alert evaluation waited for a record channel (InfluxDB, log) whose queue was full, rather than drop an event.", "channel");
        AlertQueueFull = f.CreateCounter("telemetry_alert_queue_full_total",
            "Times a message's readings found the alert engine's queue full and ingestion waited (Telemetry:Alerts:QueueCapacity).");
        AlertQueueDropped = f.CreateCounter("telemetry_alert_queue_dropped_total",
            "Messages whose readings were NOT evaluated for alerts: the engine's queue stayed full for Telemetry:Alerts:PostTimeout.");
        foreach (var r in RejectionReasons.All)
        {
            Rejections.WithLabels(r.Name());
        }
        foreach (var c in IngestStatsFields.WriteFailureClasses)
        {
            WriteFailures.WithLabels(c);
        }
    }

    public CollectorRegistry Registry { get; }
    public Counter MessagesReceived { get; }
    public Counter ReadingsAccepted { get; }
    public Counter GroupCommits { get; }
    public Counter ReadingsStored { get; }
    public Counter Rejections { get; }
    public Counter AlertEvents { get; }
    public Counter WriteRetries { get; }
    public Counter WriteFailures { get; }
    public Counter AcksDropped { get; }
    public Histogram AlertPublishLatency { get; }
    public Histogram WriteLatency { get; }
    public Gauge SpoolReadings { get; }
    public Gauge SpoolBytes { get; }
    public Gauge SpoolOldestAge { get; }
    public Gauge SpoolFull { get; }
    public Gauge ForwardRate { get; }
    public Gauge MqttConnected { get; }
    public Gauge ActiveAlerts { get; }
    public Counter AlertChannelEvents { get; }
    public Counter AlertChannelFullWaits { get; }
    public Counter AlertQueueFull { get; }
    public Counter AlertQueueDropped { get; }

    private Telemetry.Alerting.AlertMetrics? _alerts;

    /// <summary>The alert channels' outcomes (counted by the alert service) copied in at every scrape.</summary>
    public void ExportChannelOutcomes(Telemetry.Alerting.AlertMetrics alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        _alerts = alerts;
        Registry.AddBeforeCollectCallback(SyncAlerts);
    }

    /// <summary>Copies the alert service's counters in (at every scrape, and before every ingest_stats row).</summary>
    public void SyncAlerts()
    {
        if (_alerts is not { } alerts)
        {
            return;
        }
        foreach (var (channel, outcome, count) in alerts.ChannelOutcomes())
        {
            AlertChannelEvents.WithLabels(channel, outcome).IncTo(count);
        }
        foreach (var (channel, count) in alerts.FullWaits())
        {
            AlertChannelFullWaits.WithLabels(channel).IncTo(count);
        }
        // Every event the engine emitted, whatever each channel then did with it (their outcomes are above).
        AlertEvents.IncTo(alerts.Events);
        AlertQueueFull.IncTo(alerts.QueueFull);
        AlertQueueDropped.IncTo(alerts.Dropped);
    }

    public void Rejected(RejectionReason reason) => Rejections.WithLabels(reason.Name()).Inc();
}
