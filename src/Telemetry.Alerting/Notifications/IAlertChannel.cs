using System.Text.Json;
using System.Text.Json.Serialization;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// Somewhere an alert event goes (SPEC §7.4). Each channel gets its own bounded queue and task, so a slow or failing
/// one never delays the engine or the other channels. Retrying is the channel's own business.
/// </summary>
public interface IAlertChannel
{
    string Name { get; }

    /// <summary>True for notifications to people (webhook, e-mail): silences hold these back. Records (MQTT, InfluxDB, log) are never silenced.</summary>
    bool HonoursSilences { get; }

    Task SendAsync(AlertEvent alert, CancellationToken cancellationToken);
}

/// <summary>Publishes on the service's MQTT connection (implemented by the ingestion service). QoS 1.</summary>
public interface IMqttPublisher
{
    /// <summary>Publishes at QoS 1; an empty <paramref name="payload"/> with <paramref name="retain"/> removes the retained message.</summary>
    Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct);
}

/// <summary>Writes an event as a point of the <c>alerts</c> measurement (implemented by the ingestion service).</summary>
public interface IAlertPointWriter
{
    ValueTask WriteAsync(AlertEvent e, CancellationToken ct);
}

/// <summary>The event JSON of SPEC §7.4, with <c>ts</c> as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
public static class AlertJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        Converters = { new Rfc3339Converter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static byte[] Serialize(AlertEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, Options);

    private sealed class Rfc3339Converter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Rfc3339.Format(value.ToUnixTimeMilliseconds()));
    }
}
