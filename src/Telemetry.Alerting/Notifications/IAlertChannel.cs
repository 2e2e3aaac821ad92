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

    /// <summary>
    /// True when, once the channel is more than a round behind, an alert's waiting event may be replaced by its newer
    /// one (MQTT, webhooks, e-mail: what a reader needs is each alert's current state, soon). False for the records
    /// (InfluxDB, log), which never replace an event (they drop the oldest only when their queue is full).
    /// </summary>
    bool CoalescesWhenBehind => false;

    /// <summary>
    /// True for the records (InfluxDB, log), which must keep every event: when the queue is full, alert evaluation
    /// waits for the channel (up to <c>Telemetry:Alerts:ChannelFullWait</c>) instead of dropping the oldest event at
    /// once. A channel that does not make room in that time is treated as stuck: it drops, and evaluation stops waiting
    /// for it until it takes events again.
    /// </summary>
    bool WaitsWhenFull => false;

    /// <summary>
    /// Most events handed over in one <see cref="SendManyAsync"/> (at most the queue's capacity); for a channel that
    /// coalesces, also how many must wait before it does.
    /// </summary>
    int MaxGroup => 512;

    Task SendAsync(AlertEvent alert, CancellationToken cancellationToken);

    /// <summary>
    /// Sends the events waiting in the channel's queue, oldest first; <paramref name="failures"/>[i] gets the exception
    /// of event i, or stays null when it was delivered. One at a time unless the channel can do better: MQTT overlaps
    /// the publishes of different alerts, InfluxDB makes the whole group durable with one fsync. Events of one alert
    /// are always delivered in order.
    /// </summary>
    async Task SendManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(failures);
        for (var i = 0; i < alerts.Count; i++)
        {
            try
            {
                await SendAsync(alerts[i], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures[i] = ex;
            }
        }
    }

    /// <summary>
    /// Hands a group over and returns once the next group may follow it; the returned task completes when every event
    /// of the group is delivered or failed (<paramref name="failures"/> filled in by then). The default sends the whole
    /// group first (<see cref="SendManyAsync"/>): one group at a time. MQTT returns once the group's publishes are
    /// queued on the connection, so events dispatched while a group waits for its PUBACKs follow it at once, in order
    /// behind it, instead of waiting for the slowest acknowledgement of the group before.
    /// </summary>
    async ValueTask<Task> StartManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
    {
        await SendManyAsync(alerts, failures, cancellationToken).ConfigureAwait(false);
        return Task.CompletedTask;
    }
}

/// <summary>Publishes on the service's MQTT connection (implemented by the ingestion service). QoS 1.</summary>
public interface IMqttPublisher
{
    /// <summary>
    /// False when the broker's retained messages end with the service (the embedded broker keeps them in memory): the
    /// service then publishes the state of every active alert it restored again at start.
    /// </summary>
    bool RetainedOutlivesService => true;

    /// <summary>Publishes at QoS 1; an empty <paramref name="payload"/> with <paramref name="retain"/> removes the retained message.</summary>
    Task PublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct);

    /// <summary>
    /// The retained messages the broker holds under <paramref name="filter"/> (topic, payload), read on a connection of
    /// their own. At start the service compares them with the alerts it restored: a transition saved just before a
    /// crash may never have been published. Null (the default): this publisher cannot tell, and nothing is compared.
    /// </summary>
    Task<IReadOnlyList<KeyValuePair<string, byte[]>>?> RetainedAsync(string filter, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<KeyValuePair<string, byte[]>>?>(null);

    /// <summary>
    /// Starts a QoS 1 publish: the outer task completes once the message is queued on the connection behind every
    /// publish started before it, the inner one with the broker's PUBACK. Started one after another by one caller,
    /// publishes reach the broker in that order, which keeps them in order per topic for every subscriber (MQTT
    /// §4.6) — so a caller can have many in flight without reordering an alert's events. The default waits for the
    /// PUBACK before it returns: in order, one at a time.
    /// </summary>
    async ValueTask<Task> StartPublishAsync(string topic, byte[] payload, bool retain, CancellationToken ct)
    {
        await PublishAsync(topic, payload, retain, ct).ConfigureAwait(false);
        return Task.CompletedTask;
    }
}

/// <summary>Writes an event as a point of the <c>alerts</c> measurement (implemented by the ingestion service).</summary>
public interface IAlertPointWriter
{
    ValueTask WriteAsync(AlertEvent e, CancellationToken ct);

    /// <summary>Writes several events; an implementation may make them durable together.</summary>
    async ValueTask WriteManyAsync(IReadOnlyList<AlertEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            await WriteAsync(e, ct).ConfigureAwait(false);
        }
    }
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
