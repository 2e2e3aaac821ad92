using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Mqtt;

/// <summary>
/// The subscribing connection's transport: it must hold a broker that ignores our receive maximum (mosquitto 2.0
/// draining a queued session) to the window we announced, never hold back a packet that is not a QoS 1 PUBLISH, and
/// send a group's acknowledgements as one write.
/// </summary>
public sealed class IngressChannelTests
{
    private static readonly byte[] PingResp = [0xD0, 0x00];
    private static readonly byte[] PubAck = [0x40, 0x02, 0x00, 0x01];

    [Fact]
    public void Framing_CountsQos1Publishes_HoweverTheStreamIsSplit()
    {
        var stream = Concat(Publish(1, 10), Publish(0, 5), PingResp, Publish(1, 300), Publish(2, 3), Publish(1, 0), PubAck, Publish(1, 20_000));
        var random = new Random(7);
        for (var round = 0; round < 200; round++)
        {
            var framing = new IngressChannel.Framing();
            var count = 0;
            for (var i = 0; i < stream.Length;)
            {
                var n = Math.Min(stream.Length - i, random.Next(1, 40));
                count += framing.Observe(stream.AsSpan(i, n));
                i += n;
            }
            Assert.Equal(4, count);
            Assert.True(framing.AtPacketStart);
        }
    }

    [Fact]
    public async Task WindowFull_ReadingStopsAtTheNextQos1Publish_UntilAnAcknowledgementIsWritten()
    {
        var inner = new ScriptedChannel(Concat(Publish(1, 8), Publish(1, 8), Publish(1, 8), Publish(1, 8)));
        using var channel = new IngressChannel(inner, window: 2);

        await ReadPacketsAsync(channel, 2);
        Assert.Equal(2, channel.Unacknowledged);
        var third = ReadPacketsAsync(channel, 1);
        await Poll.UntilAsync(() => inner.Position == (2 * 10) + 1, "the channel to peek at the third packet's type byte");
        Assert.False(third.IsCompleted, "a third QoS 1 message was read with a window of 2 and nothing acknowledged");

        await channel.WriteAsync(new ReadOnlySequence<byte>(PubAck), true, CancellationToken.None);
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, channel.Unacknowledged);
        Assert.Equal(PubAck, inner.Written.Single());
    }

    [Fact]
    public async Task WindowFull_APacketThatIsNotAQos1Publish_IsStillRead()
    {
        var inner = new ScriptedChannel(Concat(Publish(1, 8), Publish(1, 8), PingResp, Publish(0, 4)));
        using var channel = new IngressChannel(inner, window: 2);

        await ReadPacketsAsync(channel, 4).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, channel.Unacknowledged);
    }

    [Fact]
    public async Task Coalescing_SendsTheGroupsAcknowledgementsAsOneWrite_InOrder()
    {
        var inner = new ScriptedChannel([]);
        using var channel = new IngressChannel(inner, window: 10);

        channel.BeginCoalescing();
        for (byte id = 1; id <= 3; id++)
        {
            await channel.WriteAsync(new ReadOnlySequence<byte>(new byte[] { 0x40, 0x02, 0x00, id }), true, CancellationToken.None);
        }
        Assert.Empty(inner.Written);
        await channel.FlushAsync(CancellationToken.None);

        var write = Assert.Single(inner.Written);
        Assert.Equal(new byte[] { 0x40, 0x02, 0x00, 1, 0x40, 0x02, 0x00, 2, 0x40, 0x02, 0x00, 3 }, write);
        await channel.WriteAsync(new ReadOnlySequence<byte>(PingResp), true, CancellationToken.None);
        Assert.Equal(2, inner.Written.Count);
    }

    /// <summary>Reads whole packets the way MQTTnet's adapter does: the type byte, the length, then the body.</summary>
    private static async Task ReadPacketsAsync(IMqttChannel channel, int packets)
    {
        var one = new byte[1];
        for (var p = 0; p < packets; p++)
        {
            await ReadExactlyAsync(channel, one, 1);
            int remaining = 0, shift = 0;
            do
            {
                await ReadExactlyAsync(channel, one, 1);
                remaining |= (one[0] & 0x7F) << shift;
                shift += 7;
            }
            while ((one[0] & 0x80) != 0);
            if (remaining > 0)
            {
                await ReadExactlyAsync(channel, new byte[remaining], remaining);
            }
        }
    }

    private static async Task ReadExactlyAsync(IMqttChannel channel, byte[] buffer, int count)
    {
        for (var read = 0; read < count;)
        {
            var n = await channel.ReadAsync(buffer, read, count - read, CancellationToken.None);
            Assert.True(n > 0, "the stream ended early");
            read += n;
        }
    }

    /// <summary>A PUBLISH packet of QoS <paramref name="qos"/> with a body of <paramref name="body"/> bytes.</summary>
    private static byte[] Publish(int qos, int body)
    {
        var header = new List<byte> { (byte)(0x30 | (qos << 1)) };
        var length = body;
        do
        {
            var b = (byte)(length & 0x7F);
            length >>= 7;
            header.Add(length > 0 ? (byte)(b | 0x80) : b);
        }
        while (length > 0);
        return [.. header, .. new byte[body]];
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    // MQTTnet's real adapter reading over IngressChannel one byte at a time: every remaining-length size, the largest
    // payloads, a zero-length one with DUP set, a PINGRESP and QoS 0 between them, and the receive window held.
    [Fact]
    public async Task RealAdapter_OneBytePerRead_DecodesEveryPacket_AndCountsTheWindow()
    {
        var formatter = new MqttPacketFormatterAdapter(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536));
        byte[] Encode(MqttPacket p)
        {
            var b = formatter.Encode(p);
            var bytes = b.Join().ToArray();
            formatter.Cleanup();
            return bytes;
        }
        var big = new byte[300 * 1024]; // beyond 256 KiB: 3-byte remaining length
        new Random(1).NextBytes(big);
        var huge = new byte[2_100_000]; // 4-byte remaining length
        var stream = new List<byte>();
        stream.AddRange(Encode(new MqttPublishPacket { Topic = "tunnels/a/b/gas/s1", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce, PacketIdentifier = 1, PayloadSegment = big }));
        stream.AddRange(Encode(new MqttPublishPacket { Topic = "tunnels/a/b/gas/s2", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce, PacketIdentifier = 2, Dup = true }));
        stream.AddRange(Encode(new MqttPingRespPacket()));
        stream.AddRange(Encode(new MqttPublishPacket { Topic = "tunnels/a/b/gas/s3", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtMostOnce, PayloadSegment = new byte[] { 1, 2 } }));
        var fourthStart = stream.Count;
        stream.AddRange(Encode(new MqttPublishPacket { Topic = "tunnels/a/b/gas/s4", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce, PacketIdentifier = 3, Retain = true, PayloadSegment = huge }));
        var inner = new ScriptedChannel(stream.ToArray(), maxRead: 1);
        using var channel = new IngressChannel(inner, window: 2);
        using var adapter = new MqttChannelAdapter(channel, new MqttPacketFormatterAdapter(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536)), new MqttNetNullLogger());

        var p1 = Assert.IsType<MqttPublishPacket>(await adapter.ReceivePacketAsync(CancellationToken.None));
        Assert.Equal(big, p1.Payload.ToArray());
        var p2 = Assert.IsType<MqttPublishPacket>(await adapter.ReceivePacketAsync(CancellationToken.None));
        Assert.True(p2.Dup);
        Assert.True(p2.Payload.IsEmpty);
        Assert.IsType<MqttPingRespPacket>(await adapter.ReceivePacketAsync(CancellationToken.None));
        var p3 = Assert.IsType<MqttPublishPacket>(await adapter.ReceivePacketAsync(CancellationToken.None));
        Assert.Equal(MqttQualityOfServiceLevel.AtMostOnce, p3.QualityOfServiceLevel);
        Assert.Equal(2, channel.Unacknowledged);
        var fourth = adapter.ReceivePacketAsync(CancellationToken.None);
        await Poll.UntilAsync(() => inner.Position == fourthStart + 1 || fourth.IsCompleted, "peek at the 4th QoS 1 publish");
        Assert.False(fourth.IsCompleted);
        await adapter.SendPacketAsync(new MqttPubAckPacket { PacketIdentifier = 1 }, CancellationToken.None);
        var p4 = Assert.IsType<MqttPublishPacket>(await fourth.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(huge.Length, p4.Payload.Length);
        Assert.True(p4.Retain);
        Assert.Equal(2, channel.Unacknowledged);
    }

    /// <summary>Serves a fixed byte stream, at most <paramref name="maxRead"/> bytes a read, and records what is written.</summary>
    private sealed class ScriptedChannel(byte[] stream, int maxRead = int.MaxValue) : IMqttChannel
    {
        private int _position;

        public int Position => Volatile.Read(ref _position);

        public List<byte[]> Written { get; } = [];

        public X509Certificate2 ClientCertificate => null!;

        public EndPoint RemoteEndPoint => new IPEndPoint(IPAddress.Loopback, 1883);

        public EndPoint LocalEndPoint => new IPEndPoint(IPAddress.Loopback, 50000);

        public bool IsSecureConnection => false;

        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            var n = Math.Min(Math.Min(count, maxRead), stream.Length - _position);
            Array.Copy(stream, _position, buffer, offset, n);
            Volatile.Write(ref _position, _position + n);
            return Task.FromResult(n);
        }

        public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
        {
            Written.Add(buffer.ToArray());
            return Task.CompletedTask;
        }

        public void Dispose()
        {
        }
    }
}
