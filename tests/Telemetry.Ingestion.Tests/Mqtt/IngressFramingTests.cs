using System.Buffers;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Mqtt;

public sealed class IngressFramingTests
{
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
        var inner = new OneByteChannel(stream.ToArray());
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

    // ---- The embedded broker's listening addresses ------------------------------------------------------------

    /// <summary>Serves a fixed byte stream one byte per read and records what is written.</summary>
    private sealed class OneByteChannel(byte[] stream) : IMqttChannel
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
            var n = Math.Min(Math.Min(count, 1), stream.Length - _position);
            Array.Copy(stream, _position, buffer, offset, n);
            Volatile.Write(ref _position, _position + n);
            return Task.FromResult(n);
        }

        public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
        {
            lock (Written)
            {
                Written.Add(buffer.ToArray());
            }
            return Task.CompletedTask;
        }

        public void Dispose()
        {
        }
    }
}
