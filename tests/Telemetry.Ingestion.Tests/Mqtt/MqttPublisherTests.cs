using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Mqtt;

/// <summary>
/// The alert publisher against mosquitto: many publishes in flight all arrive in order and are confirmed, retained state
/// is kept and removed, and publishes whose PUBACK can no longer come fail instead of hanging.
/// </summary>
public sealed class MqttPublisherTests : IAsyncLifetime
{
    private MosquittoServer _broker = null!;

    public async Task InitializeAsync() => _broker = await MosquittoServer.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private MqttPublisher Publisher() => new(
        Options.Create(new MqttOptions { Host = _broker.Host, Port = _broker.Port, ClientId = "publisher-test" }),
        new IngestMetrics(), TimeProvider.System, NullLogger<MqttPublisher>.Instance);

    [Fact]
    public async Task PublishesStartedBackToBack_BeyondTheWindow_AllArriveInOrderAndAreConfirmed()
    {
        await using var subscriber = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await subscriber.SubscribeAsync("alerts/#");
        using var publisher = Publisher();
        const int Count = 3 * MqttPublisher.MaxInFlight;

        var confirmations = new List<Task>(Count);
        for (var i = 0; i < Count; i++)
        {
            confirmations.Add(await publisher.StartPublishAsync("alerts/s1/ch4-lel", Encoding.UTF8.GetBytes(i.ToString()), retain: false, CancellationToken.None));
        }
        await Task.WhenAll(confirmations).WaitAsync(TimeSpan.FromSeconds(30));

        await Poll.UntilAsync(() => subscriber.Received.Count >= Count, $"{Count} publishes at the subscriber");
        Assert.Equal(Enumerable.Range(0, Count).Select(i => i.ToString()), subscriber.Received.Select(m => m.Text));
    }

    [Fact]
    public async Task RetainedState_IsKeptForALaterSubscriber_AndAnEmptyRetainedPublishRemovesIt()
    {
        using var publisher = Publisher();
        await publisher.PublishAsync("alerts/s1/ch4-lel", Encoding.UTF8.GetBytes("""{"state":"active"}"""), retain: true, CancellationToken.None);
        await publisher.PublishAsync("alerts/s2/ch4-lel", Encoding.UTF8.GetBytes("""{"state":"active"}"""), retain: true, CancellationToken.None);
        await publisher.PublishAsync("alerts/s2/ch4-lel", [], retain: true, CancellationToken.None);

        await using var late = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await late.SubscribeAsync("alerts/#");
        await Poll.UntilAsync(() => !late.Received.IsEmpty, "the retained state at a new subscriber");

        var retained = Assert.Single(late.Received);
        Assert.Equal(("alerts/s1/ch4-lel", """{"state":"active"}""", true), (retained.Topic, retained.Text, retained.Retain));
    }

    [Fact]
    public async Task BrokerGoneWithPubacksOutstanding_ThosePublishesFail_AndPublishingResumesWhenItIsBack()
    {
        using var publisher = Publisher();
        await publisher.PublishAsync("alerts/s1/ch4-lel", Encoding.UTF8.GetBytes("before"), retain: false, CancellationToken.None);

        // A stopped broker reads nothing and acknowledges nothing; killed, its connections end.
        _broker.Process.Signal(ServerProcess.SigStop);
        var outstanding = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            outstanding.Add(await publisher.StartPublishAsync("alerts/s1/ch4-lel", Encoding.UTF8.GetBytes($"held {i}"), retain: false, CancellationToken.None));
        }
        Assert.All(outstanding, t => Assert.False(t.IsCompleted));
        _broker.Process.Signal(ServerProcess.SigKill);

        await Poll.UntilAsync(() => outstanding.All(t => t.IsCompleted), "the publishes awaiting a PUBACK to end");
        Assert.All(outstanding, t => Assert.True(t.IsFaulted));

        await _broker.StartAgainAsync();
        await using var subscriber = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await subscriber.SubscribeAsync("alerts/#");
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await publisher.PublishAsync("alerts/s1/ch4-lel", Encoding.UTF8.GetBytes("after"), retain: false, CancellationToken.None);
                return true;
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException)
            {
                return false; // the publisher notices the new broker on the next publish
            }
        }, "a publish after the broker is back");
        await Poll.UntilAsync(() => subscriber.Received.Any(m => m.Text == "after"), "the publish at a subscriber");
    }
}
