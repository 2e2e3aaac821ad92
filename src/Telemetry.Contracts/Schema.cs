namespace Telemetry.Contracts;

/// <summary>Measurement, tag and field names of SPEC §6 that are not sensor fields. Dashboards and the service share them.</summary>
public static class Schema
{
    public const string DefaultDatabase = "tunnel_telemetry";

    public const string Rejected = "rejected";
    public const string Alerts = "alerts";
    public const string IngestStats = "ingest_stats";

    public const string TagSite = "site";
    public const string TagTunnel = "tunnel";
    public const string TagSensor = "sensor";
    public const string TagInstance = "instance";
    public const string TagReason = "reason";

    /// <summary>The integer per-sensor counter field of every reading measurement.</summary>
    public const string FieldSeq = "seq";

    // alerts: tags (besides site, tunnel, sensor) and fields
    public const string TagKind = "kind";
    public const string TagRule = "rule";
    public const string TagLevel = "level";
    public const string TagState = "state";
    public const string AlertValue = "value";
    public const string AlertThreshold = "threshold";
    public const string AlertMessage = "message";
    public const string AlertId = "alert_id";
    public const string AlertAcknowledgedBy = "acknowledged_by";

    // rejected: fields
    public const string RejectedTopic = "topic";
    public const string RejectedField = "field";
    public const string RejectedPayload = "payload";
    public const string RejectedDetail = "detail";
}

/// <summary>
/// Fields of the <c>ingest_stats</c> measurement (SPEC §10), written every 10 s with tag <c>instance</c>.
/// Counters are cumulative since the process started (use <c>non_negative_derivative</c> in InfluxQL);
/// gauges are the value at write time.
/// </summary>
public static class IngestStatsFields
{
    // counters
    public const string MessagesReceived = "messages_received";
    public const string ReadingsAccepted = "readings_accepted";
    public const string ReadingsStored = "readings_stored";
    public const string Rejections = "rejections";
    public const string AlertEvents = "alert_events";
    public const string WriteRetries = "write_retries";

    /// <summary>Messages whose readings were not evaluated for alerts (the engine's queue stayed full).</summary>
    public const string AlertQueueDropped = "alert_queue_dropped";

    /// <summary>Prefix of one counter per rejection reason: <c>rejected_bad_topic</c>, <c>rejected_out_of_range</c>, …</summary>
    public const string RejectedPrefix = "rejected_";

    /// <summary>Prefix of one counter per write-failure class: <c>write_failures_transient</c>, <c>_too_large</c>, <c>_rejected</c>, <c>_auth</c>.</summary>
    public const string WriteFailuresPrefix = "write_failures_";

    // gauges
    public const string WriteLatencyMs = "write_latency_ms";
    public const string SpoolReadings = "spool_readings";
    public const string SpoolBytes = "spool_bytes";
    public const string SpoolOldestAgeS = "spool_oldest_age_s";
    public const string MqttConnected = "mqtt_connected";
    public const string ActiveAlerts = "active_alerts";

    public static readonly IReadOnlyList<string> WriteFailureClasses = ["transient", "too_large", "rejected", "auth"];
}
