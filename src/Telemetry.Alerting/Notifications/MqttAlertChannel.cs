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

    public bool CoalescesWhenBehind => true;

    public async Task SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        foreach (var (topic, payload, retain) in Publishes(alert))
        {
            await publisher.PublishAsync(topic, payload, retain, cancellationToken);
        }
    }

    public async Task SendManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken) =>
        await await StartManyAsync(alerts, failures, cancellationToken);

    /// <summary>
    /// Starts every publish of the group in queue order without waiting for PUBACKs in between (the publisher bounds
    /// how many wait at once) and returns; the returned task waits for them all. The broker keeps one connection's
    /// messages in order per topic, so each alert's events — and a cleared alert's event before the removal of its
    /// retained state — arrive in order, while a group costs about one round trip instead of one per event of the
    /// busiest alert, and the next group need not wait for this one's acknowledgements.
    /// </summary>
    public async ValueTask<Task> StartManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(failures);
        var acks = new List<(int Index, Task Ack)>(alerts.Count + (alerts.Count / 2));
        for (var i = 0; i < alerts.Count; i++)
        {
            try
            {
                foreach (var (topic, payload, retain) in Publishes(alerts[i]))
                {
                    acks.Add((i, await publisher.StartPublishAsync(topic, payload, retain, cancellationToken)));
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures[i] = ex;
            }
        }
        return AwaitAcksAsync(acks, failures);
    }

    private static async Task AwaitAcksAsync(List<(int Index, Task Ack)> acks, Exception?[] failures)
    {
        foreach (var (i, ack) in acks)
        {
            try
            {
                await ack;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures[i] ??= ex;
            }
        }
    }

    /// <summary>What one event puts on the broker, in order.</summary>
    private List<(string Topic, byte[] Payload, bool Retain)> Publishes(AlertEvent alert)
    {
        if (alert.Repeat)
        {
            return [];
        }
        var topic = $"{topicRoot}/{alert.AlertId}";
        var payload = AlertJson.Serialize(alert);
        if (alert.Backlog)
        {
            return [(topic, payload, false)];
        }
        if (alert.State == AlertState.Cleared)
        {
            return [(topic, payload, false), (topic, [], true)];
        }
        return [(topic, payload, true)];
    }
}
