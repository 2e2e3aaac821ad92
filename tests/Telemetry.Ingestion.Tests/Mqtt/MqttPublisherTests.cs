using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Mqtt;

/// <summary>
/// The alert publisher, which sends its publishes and matches their PUBACKs itself (<see cref="PublisherAdapter"/>):
/// against mosquitto, many publishes in flight all arrive in order and are confirmed, and publishes whose PUBACK can no
/// longer come fail instead of hanging; with a scripted connection, a late PUBACK's identifier is never given away.
/// </summary>
public sealed class MqttPublisherTests : IAsyncLifetime
{
    private MosquittoServer _broker = null!;

    public async Task InitializeAsync() => _broker = await MosquittoServer.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private MqttPublisher Publisher(IngestMetrics? metrics = null) => new(
        Options.Create(new MqttOptions { Host = _broker.Host, Port = _broker.Port, ClientId = "publisher-test" }),
        metrics ?? new IngestMetrics(), TimeProvider.System, NullLogger<MqttPublisher>.Instance);

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
        var metrics = new IngestMetrics();
        using var publisher = Publisher(metrics);
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

    [Fact]
    public async Task APubackThatIsLate_KeepsItsIdentifier_WhileTheIdentifiersWrapAroundPastIt()
    {
        using var connection = new ScriptedConnection();
        using var adapter = new PublisherAdapter(connection);
        var receiving = adapter.ReceivePacketAsync(CancellationToken.None);

        var late = adapter.PublishAsync(Publish(), CancellationToken.None);
        var lateId = connection.Sent[0].PacketIdentifier;
        connection.Hold(lateId);
        for (var i = 0; i < ushort.MaxValue + 5_000; i++)
        {
            var ack = await adapter.PublishAsync(Publish(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.NotEqual(lateId, ack.PacketIdentifier);
        }
        Assert.False(late.IsCompleted);

        connection.Release(lateId);
        Assert.Equal(lateId, (await late.WaitAsync(TimeSpan.FromSeconds(10))).PacketIdentifier);

        // The connection ends: what still awaits a PUBACK fails, and nothing more can be started on it.
        connection.Hold(0);
        var pending = adapter.PublishAsync(Publish(), CancellationToken.None);
        connection.End();
        Assert.Null(await receiving.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<MQTTnet.Exceptions.MqttCommunicationException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Throws<MQTTnet.Exceptions.MqttCommunicationException>(() => { _ = adapter.PublishAsync(Publish(), CancellationToken.None); });
    }

    private static MqttPublishPacket Publish() => new()
    {
        Topic = "alerts/s1/ch4-lel",
        PayloadSegment = new ArraySegment<byte>([1]),
        QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
    };

    /// <summary>
    /// A connection that acknowledges every publish at once, except the identifiers it is told to hold (0: every one
    /// from then on), until it is told to release them or to end.
    /// </summary>
    private sealed class ScriptedConnection : IMqttChannelAdapter
    {
        private readonly Channel<MqttPacket?> _incoming = Channel.CreateUnbounded<MqttPacket?>();
        private readonly HashSet<ushort> _held = [];
        private bool _holdAll;

        public List<MqttPublishPacket> Sent { get; } = [];

        public void Hold(ushort id)
        {
            lock (_held)
            {
                _holdAll |= id == 0;
                _held.Add(id);
            }
        }

        public void Release(ushort id)
        {
            lock (_held)
            {
                _held.Remove(id);
            }
            _incoming.Writer.TryWrite(new MqttPubAckPacket { PacketIdentifier = id });
        }

        public void End() => _incoming.Writer.TryWrite(null);

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
        {
            var publish = (MqttPublishPacket)packet;
            lock (_held)
            {
                if (Sent.Count == 0)
                {
                    Sent.Add(publish);
                }
                if (_holdAll || _held.Contains(publish.PacketIdentifier) || Sent[0] == publish)
                {
                    return Task.CompletedTask;
                }
            }
            _incoming.Writer.TryWrite(new MqttPubAckPacket { PacketIdentifier = publish.PacketIdentifier });
            return Task.CompletedTask;
        }

        public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken) =>
            (await _incoming.Reader.ReadAsync(cancellationToken))!;

        public long BytesReceived => 0;

        public long BytesSent => 0;

        public X509Certificate2 ClientCertificate => null!;

        public EndPoint RemoteEndPoint => new IPEndPoint(IPAddress.Loopback, 1883);

        public EndPoint LocalEndPoint => new IPEndPoint(IPAddress.Loopback, 50000);

        public bool IsSecureConnection => false;

        public MqttPacketFormatterAdapter PacketFormatterAdapter => null!;

        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void ResetStatistics()
        {
        }

        public void Dispose()
        {
        }
    }
}
