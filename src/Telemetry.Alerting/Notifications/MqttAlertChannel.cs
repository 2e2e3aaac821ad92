using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// MQTT (SPEC §7.4 channel 1): <c>{root}/{site}/{tunnel}/{sensor}/{rule}</c>. The current state of an active alert is
/// retained, so an app connecting later sees every active alert; on <c>cleared</c> the event is published (not
/// retained) and then the retained message is removed. Backlog events are history, never the current state: they are
/// published without retain and leave the retained message alone. Repeats change nothing and are not published.
/// </summary>
internal sealed class MqttAlertChannel(IMqttPublisher publisher, string topicRoot) : IAlertChannel
{
    public string Name => "mqtt";

    public bool HonoursSilences => false;

    public async Task SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (alert.Repeat)
        {
            return;
        }
        var topic = $"{topicRoot}/{alert.AlertId}";
        var payload = AlertJson.Serialize(alert);
        if (alert.Backlog)
        {
            await publisher.PublishAsync(topic, payload, retain: false, cancellationToken);
            return;
        }
        if (alert.State == AlertState.Cleared)
        {
            await publisher.PublishAsync(topic, payload, retain: false, cancellationToken);
            await publisher.PublishAsync(topic, [], retain: true, cancellationToken);
            return;
        }
        await publisher.PublishAsync(topic, payload, retain: true, cancellationToken);
    }

    /// <summary>
    /// Overlaps the publishes of different alerts (the publisher bounds how many wait for their PUBACK) instead of one
    /// round trip per event; the events of one alert still go one after the other, so a retained state is never
    /// overtaken by an older event's removal.
    /// </summary>
    public async Task SendManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(failures);
        var chains = new Dictionary<string, Task>(StringComparer.Ordinal);
        for (var i = 0; i < alerts.Count; i++)
        {
            var id = alerts[i].AlertId;
            chains[id] = SendAfterAsync(chains.GetValueOrDefault(id), alerts[i], failures, i, cancellationToken);
        }
        await Task.WhenAll(chains.Values);
    }

    private async Task SendAfterAsync(Task? previous, AlertEvent alert, Exception?[] failures, int index, CancellationToken ct)
    {
        if (previous is not null)
        {
            await previous;
        }
        try
        {
            await SendAsync(alert, ct);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            failures[index] = ex;
        }
    }
}
