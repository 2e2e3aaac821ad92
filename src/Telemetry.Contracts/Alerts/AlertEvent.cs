using System.Text.Json.Serialization;

namespace Telemetry.Contracts.Alerts;

/// <summary>Alert transition states of SPEC §7.1.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertState>))]
public enum AlertState : byte
{
    [JsonStringEnumMemberName("raised")] Raised,
    [JsonStringEnumMemberName("escalated")] Escalated,
    [JsonStringEnumMemberName("deescalated")] Deescalated,
    [JsonStringEnumMemberName("cleared")] Cleared,
    [JsonStringEnumMemberName("acknowledged")] Acknowledged,
}

/// <summary>
/// One alert transition, in the event JSON of SPEC §7.4. <c>Ts</c> is the reading's time (or the clock's, for
/// stale and repeat). Extra members beyond the SPEC example are additive.
/// </summary>
public sealed record AlertEvent
{
    [JsonPropertyName("alert_id")] public required string AlertId { get; init; }
    [JsonPropertyName("site")] public required string Site { get; init; }
    [JsonPropertyName("tunnel")] public required string Tunnel { get; init; }
    [JsonPropertyName("sensor")] public required string Sensor { get; init; }
    [JsonPropertyName("kind")] public required string Kind { get; init; }
    [JsonPropertyName("rule")] public required string Rule { get; init; }
    [JsonPropertyName("field")] public string Field { get; init; } = "";
    [JsonPropertyName("state")] public required AlertState State { get; init; }
    [JsonPropertyName("level")] public required string Level { get; init; }
    [JsonPropertyName("previous_level")] public string? PreviousLevel { get; init; }
    [JsonPropertyName("value")] public double? Value { get; init; }
    [JsonPropertyName("threshold")] public double? Threshold { get; init; }
    [JsonPropertyName("ts")] public required DateTimeOffset Ts { get; init; }
    [JsonPropertyName("message")] public required string Message { get; init; }

    /// <summary>Who acknowledged, on <c>acknowledged</c> events and on active alerts.</summary>
    [JsonPropertyName("acknowledged_by")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? AcknowledgedBy { get; init; }
    [JsonPropertyName("note")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Note { get; init; }

    /// <summary>True on a repeated notification of a still-unacknowledged red alert.</summary>
    [JsonPropertyName("repeat")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Repeat { get; init; }

    /// <summary>True when the transition happened inside a backlog (readings older than the sensor's newest).</summary>
    [JsonPropertyName("backlog")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Backlog { get; init; }
}
