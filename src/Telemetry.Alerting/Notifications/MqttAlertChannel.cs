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
}
