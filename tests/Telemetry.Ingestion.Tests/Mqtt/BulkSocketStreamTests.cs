using System.Net;
using System.Net.Sockets;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests.Mqtt;

/// <summary>
/// The transport under every MQTT connection of the service, on real loopback sockets: whatever the grouping of
/// reads and writes, the bytes arrive whole and in order, a close sends what was queued, and a dead peer fails the
/// connection instead of swallowing writes.
/// </summary>
public sealed class BulkSocketStreamTests : IAsyncLifetime
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public Task InitializeAsync()
    {
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        return Task.CompletedTask;
    }

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Writes_ArriveWholeAndInOrder_WhenWrittenFasterThanSent()
    {
        await using var connection = await ConnectAsync();
        var (stream, peer) = (connection.Stream, connection.Peer);
        var expected = Packets(seed: 1, count: 20_000, out var packets);

        var receiving = ReadExactlyAsync(peer, expected.Length);
        foreach (var packet in packets)
        {
            await stream.WriteAsync(packet, Ct);
        }

        Assert.Equal(expected, await receiving);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the alert publisher's connection: acknowledges every receive at once
    public async Task Reads_OfAFewBytes_ReturnExactlyWhatThePeerSent(bool ackQuickly)
    {
        await using var connection = await ConnectAsync(ackQuickly);
        var (stream, peer) = (connection.Stream, connection.Peer);
        var sent = Packets(seed: 2, count: 2_000, out var packets);
        foreach (var packet in packets)
        {
            await peer.GetStream().WriteAsync(packet, Ct);
        }

        // As MQTTnet reads: two bytes of fixed header, a length byte, then the body in one or more reads.
        var received = new MemoryStream();
        var random = new Random(3);
        var buffer = new byte[4096];
        while (received.Length < sent.Length)
        {
            var want = (int)Math.Min(sent.Length - received.Length, random.Next(4) switch { 0 => 1, 1 => 2, 2 => 300, _ => 4096 });
            var n = await stream.ReadAsync(buffer.AsMemory(0, want), Ct);
            Assert.NotEqual(0, n);
            received.Write(buffer, 0, n);
        }
        Assert.Equal(sent, received.ToArray());
    }

    [Fact]
    public async Task Dispose_SendsWhatWasQueued_BeforeClosing()
    {
        await using var connection = await ConnectAsync();
        var (stream, peer) = (connection.Stream, connection.Peer);
        var expected = Packets(seed: 4, count: 3_000, out var packets);
        var received = new MemoryStream();
        var receiving = peer.GetStream().CopyToAsync(received, Ct);
        foreach (var packet in packets)
        {
            await stream.WriteAsync(packet, Ct);
        }
        await stream.DisposeAsync();

        // Everything, then the end of the stream: MQTTnet's DISCONNECT is the last thing it writes before closing.
        await receiving;
        Assert.Equal(expected, received.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PeerGone_TheReadEnds_AndWritesFail(bool ackQuickly)
    {
        await using var connection = await ConnectAsync(ackQuickly);
        var (stream, peer) = (connection.Stream, connection.Peer);
        peer.Client.Linger(0);
        peer.Dispose();

        var buffer = new byte[16];
        var read = await Record.ExceptionAsync(async () => Assert.Equal(0, await stream.ReadAsync(buffer, Ct)));
        Assert.True(read is null or IOException or SocketException, $"unexpected {read}");

        // The failure of a send reaches a later write (the first ones may be queued before the reset is seen).
        Exception? failure = null;
        await Poll.UntilAsync(async () => (failure = await Record.ExceptionAsync(async () => await stream.WriteAsync(new byte[1024], Ct))) is not null,
            "a write to fail");
        Assert.True(failure is IOException or SocketException, $"a write failed oddly: {failure}");
    }

    private async Task<Connection> ConnectAsync(bool ackQuickly = false)
    {
        var accepting = _listener.AcceptTcpClientAsync(Ct);
        var stream = await new BulkSocketStreamProvider(ackQuickly).ConnectAsync(_listener.LocalEndpoint, Ct);
        return new Connection(stream, await accepting);
    }

    /// <summary>Our end (the stream under test) and the peer's, closed together.</summary>
    private sealed record Connection(Stream Stream, TcpClient Peer) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Stream.DisposeAsync();
            Peer.Dispose();
        }
    }

    private static byte[] Packets(int seed, int count, out List<byte[]> packets)
    {
        var random = new Random(seed);
        packets = [];
        var all = new MemoryStream();
        for (var i = 0; i < count; i++)
        {
            var packet = new byte[random.Next(1, 400)];
            random.NextBytes(packet);
            packets.Add(packet);
            all.Write(packet);
        }
        return all.ToArray();
    }

    private static async Task<byte[]> ReadExactlyAsync(TcpClient peer, int length)
    {
        var bytes = new byte[length];
        await peer.GetStream().ReadExactlyAsync(bytes, Ct);
        return bytes;
    }
}

file static class SocketExtensions
{
    /// <summary>Close with a reset (RST) instead of an orderly FIN: the peer's sends then fail.</summary>
    public static void Linger(this Socket socket, int seconds) => socket.LingerState = new LingerOption(true, seconds);
}
