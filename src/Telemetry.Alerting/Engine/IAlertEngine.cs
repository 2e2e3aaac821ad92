using System.Text.Json.Serialization;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Engine;

/// <summary>
/// The alert engine of SPEC §7: readings in, transition events out, no IO. Evaluated per (sensor, rule); readings of
/// one sensor must come in the order they were received (SPEC §13). Not thread-safe: one caller at a time.
/// </summary>
public interface IAlertEngine
{
    /// <summary>Evaluates one sensor's readings (one message); transitions are appended to <paramref name="events"/>.</summary>
    void Evaluate(SensorAddress sensor, IReadOnlyList<Reading> readings, ICollection<AlertEvent> events);

    /// <summary>Lets the clock act: <c>stale</c>, pending <c>for</c>, windows sliding, <c>repeat</c> of unacknowledged red.</summary>
    void Tick(ICollection<AlertEvent> events);

    /// <summary>Acknowledges an active alert; emits <c>acknowledged</c> once (a second acknowledgement is a no-op).</summary>
    AckResult Acknowledge(string alertId, string by, string? note, ICollection<AlertEvent> events);

    IReadOnlyList<ActiveAlert> ActiveAlerts();

    /// <summary>
    /// For every active alert, the event that states it now: its last transition, or its acknowledgement (what the
    /// MQTT channel keeps retained). Appended to <paramref name="events"/>; changes nothing.
    /// </summary>
    void CurrentStates(ICollection<AlertEvent> events);

    /// <summary>A deep copy of the engine's memory; a new engine given it continues exactly where this one is.</summary>
    AlertEngineState Snapshot();
}

public enum AckResult
{
    NotFound,
    Acknowledged,
    AlreadyAcknowledged,
}

/// <summary>An active alert as people see it (<c>GET /api/alerts</c>).</summary>
public sealed record ActiveAlert
{
    [JsonPropertyName("alert_id")] public required string AlertId { get; init; }
    [JsonPropertyName("site")] public required string Site { get; init; }
    [JsonPropertyName("tunnel")] public required string Tunnel { get; init; }
    [JsonPropertyName("sensor")] public required string Sensor { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("rule")] public required string Rule { get; init; }
    [JsonPropertyName("level")] public required string Level { get; init; }
    [JsonPropertyName("state")] public required AlertState State { get; init; }
    [JsonPropertyName("since")] public required DateTimeOffset Since { get; init; }
    [JsonPropertyName("value")] public double? Value { get; init; }
    [JsonPropertyName("threshold")] public double? Threshold { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("acknowledged")] public bool Acknowledged => AcknowledgedBy is not null;
    [JsonPropertyName("acknowledged_by")] public string? AcknowledgedBy { get; init; }
    [JsonPropertyName("acknowledged_at")] public DateTimeOffset? AcknowledgedAt { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
}

/// <summary>The rules that apply to one sensor, with its strain baseline.</summary>
public sealed record SensorProfile(IReadOnlyList<RuleDefinition> Rules, double Baseline);
