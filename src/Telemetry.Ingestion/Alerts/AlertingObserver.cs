using System.Text.Json;
using Microsoft.Extensions.Options;
using Telemetry.Alerting;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Contracts;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.Ingestion.Alerts;

/// <summary>
/// Connects the pipeline to alerting and the sensor registry: valid readings go to the alert engine (before they
/// are even durable, so alerting never waits for storage), strict mode refuses unregistered sensors, registry
/// zones become tags, and <c>{alerts root}/ack/{alert_id}</c> messages acknowledge alerts (SPEC §7.4).
/// Called only from the processor's loop.
/// </summary>
internal sealed partial class AlertingObserver(
    IAlertPipeline pipeline,
    IAlertService alerts,
    SensorRegistry registry,
    IOptions<AlertingOptions> options,
    ILogger<AlertingObserver> logger) : IReadingObserver
{
    private readonly string _ackPrefix = options.Value.TopicRoot + "/ack/";
    private readonly Dictionary<SensorEntry, IReadOnlyList<KeyValuePair<string, string>>?> _tags = [];
    private readonly List<Task> _acks = [];

    /// <summary>The topic filter that carries acknowledgements; the ingress subscribes to it too.</summary>
    public string AckFilter => _ackPrefix + "#";

    public bool TryHandleControlMessage(InboundMessage message)
    {
        if (!message.Topic.StartsWith(_ackPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        var alertId = message.Topic[_ackPrefix.Length..];
        if (alertId.AsSpan().Count('/') != 3)
        {
            // Not an acknowledgement (alerts/ack/{site}/{tunnel}/{sensor}/{rule}) but an alert of a site named "ack",
            // published by this service itself: nothing to do.
            return true;
        }
        if (message.Retained)
        {
            // An acknowledgement is an act, not a state: a retained one would come again at every subscription (each
            // restart) and acknowledge, silently, whatever later episode of that alert is active then.
            RetainedAck(logger, message.Topic);
            return true;
        }
        if (!TryReadAck(message.Payload, out var by, out var note))
        {
            InvalidAck(logger, message.Topic);
            return true;
        }
        // Acknowledging saves alert state (an fsync): run it beside the pipeline, and say what happened. The group this
        // message is in is acknowledged to the broker only once it is saved (AcknowledgementsSavedAsync, SPEC §8).
        _acks.Add(AcknowledgeAsync(alertId, by, note));
        return true;
    }

    public Task AcknowledgementsSavedAsync()
    {
        if (_acks.Count == 0)
        {
            return Task.CompletedTask;
        }
        var all = Task.WhenAll(_acks);
        _acks.Clear();
        return all;
    }

    public bool IsKnownSensor(SensorAddress address, out IReadOnlyList<KeyValuePair<string, string>>? extraTags)
    {
        if (!registry.TryGet(address.Site, address.Tunnel, address.Sensor, out var entry))
        {
            extraTags = null;
            return !registry.Strict;
        }
        if (!_tags.TryGetValue(entry, out extraTags))
        {
            extraTags = string.IsNullOrEmpty(entry.Zone) ? null : [new("zone", entry.Zone)];
            _tags[entry] = extraTags;
        }
        return true;
    }

    public void OnReadings(SensorAddress address, List<Reading> readings) => pipeline.Post(address, readings);

    public Task ReadingsEvaluatedAsync() => pipeline.EvaluatedAsync();

    private async Task AcknowledgeAsync(string alertId, string by, string? note)
    {
        try
        {
            var result = await alerts.AcknowledgeAsync(alertId, by, note);
            Acknowledged(logger, alertId, by, result.ToString());
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException)
        {
            AckFailed(logger, ex, alertId);
        }
    }

    private static bool TryReadAck(byte[] payload, out string by, out string? note)
    {
        by = "";
        note = null;
        try
        {
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("by", out var b) || b.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(b.GetString()))
            {
                return false;
            }
            by = b.GetString()!;
            note = doc.RootElement.TryGetProperty("note", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [LoggerMessage(5001, LogLevel.Warning, "Ignored acknowledgement on {Topic}: the payload must be JSON {{\"by\": \"name\", \"note\": \"...\"}}")]
    private static partial void InvalidAck(ILogger logger, string topic);

    [LoggerMessage(5004, LogLevel.Warning, "Ignored a retained acknowledgement on {Topic}: it was published with the retain flag, and would acknowledge every later episode of that alert at each restart. Publish acknowledgements without retain; clear this one with an empty retained message")]
    private static partial void RetainedAck(ILogger logger, string topic);

    [LoggerMessage(5002, LogLevel.Information, "Acknowledgement of {AlertId} by {By} over MQTT: {Result}")]
    private static partial void Acknowledged(ILogger logger, string alertId, string by, string result);

    [LoggerMessage(5003, LogLevel.Error, "Acknowledgement of {AlertId} over MQTT failed")]
    private static partial void AckFailed(ILogger logger, Exception exception, string alertId);
}
