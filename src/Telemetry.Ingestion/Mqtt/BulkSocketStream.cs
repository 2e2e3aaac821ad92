using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using MQTTnet.Channel;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// Opens the service's TCP connections to the broker through MQTTnet's stream-provider seam, with a
/// <see cref="BulkSocketStream"/>: MQTTnet itself reads every packet in two or three small reads and writes every
/// packet with one or two sends, which at 15,000 readings/s is most of the service's system calls.
/// </summary>
internal sealed class BulkSocketStreamProvider(bool ackQuickly = false) : IMqttClientStreamProvider
{
    public async Task<Stream> ConnectAsync(EndPoint brokerEndPoint, CancellationToken cancellationToken)
    {
        // Dual-mode by default, so a host name that resolves to IPv4 or IPv6 both connect (as MQTTnet's own socket).
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(brokerEndPoint, cancellationToken);
            return new BulkSocketStream(socket, ackQuickly);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A connected socket that reads in bulk and writes in bulk, without adding latency:
/// <list type="bullet">
/// <item>reads are served from a 64 KB buffer, filled by one receive of whatever has arrived;</item>
/// <item>a write is queued and a sender task sends the queue: a lone packet leaves at once, and everything written
/// while a send is in progress goes out together in the next one (one <c>sendmsg</c>). Nothing waits for a timer or a
/// size.</item>
/// </list>
/// A write returns once queued (MQTTnet writes packets one at a time under its own lock, so waiting for each send
/// would leave nothing to group). That changes no promise: an acknowledgement is worth something only once the broker
/// has it, and a QoS 1 publish is complete only when the broker's PUBACK comes back. If the connection fails, the next
/// write and the reader fail, and MQTTnet reconnects as it would on its own socket; queued acknowledgements that never
/// left are redelivered by the broker. The queue is bounded (1 MB): a writer beyond it waits for the sender.
/// </summary>
internal sealed class BulkSocketStream : Stream, IMqttClientStreamEndPoints
{
    private const int ReadBufferBytes = 64 * 1024;
    private static readonly TimeSpan DisposeDrainTimeout = TimeSpan.FromSeconds(2);

    private readonly Socket _socket;
    private readonly BufferedStream _reads;
    private readonly Pipe _queue = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Task _sender;
    private int _disposed;

    /// <param name="socket">A connected socket; the stream owns it.</param>
    /// <param name="ackQuickly">Acknowledge what arrives at once (<see cref="QuickAckNetworkStream"/>).</param>
    public BulkSocketStream(Socket socket, bool ackQuickly = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
        LocalEndPoint = socket.LocalEndPoint!;
        RemoteEndPoint = socket.RemoteEndPoint!;
        // Reads only: writes bypass the buffered stream (it is not safe to read and write it concurrently).
        _reads = new BufferedStream(ackQuickly ? new QuickAckNetworkStream(socket) : new NetworkStream(socket, ownsSocket: true), ReadBufferBytes);
        _sender = Task.Run(SendQueuedAsync);
    }

    public EndPoint LocalEndPoint { get; }

    public EndPoint RemoteEndPoint { get; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _reads.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _reads.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _reads.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _reads.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            // Completes at once unless the queue is past its bound; throws the sender's failure if it failed.
            var result = await _queue.Writer.WriteAsync(buffer, cancellationToken);
            if (result.IsCompleted)
            {
                throw new IOException("The connection to the broker is closed.");
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Nothing to do: what was written is already on its way.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task SendQueuedAsync()
    {
        var reader = _queue.Reader;
        var segments = new List<ArraySegment<byte>>();
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var pending = result.Buffer;
                while (!pending.IsEmpty)
                {
                    Gather(pending, segments);
                    var sent = await _socket.SendAsync(segments, SocketFlags.None);
                    pending = pending.Slice(sent);
                }
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            await reader.CompleteAsync();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            // Writers see it on their next write; the reader sees the shut-down socket and MQTTnet reconnects.
            await reader.CompleteAsync(ex);
            ShutDown();
        }
    }

    private static void Gather(ReadOnlySequence<byte> pending, List<ArraySegment<byte>> segments)
    {
        segments.Clear();
        foreach (var memory in pending)
        {
            // The pipe's default pool hands out arrays; anything else is copied rather than refused.
            segments.Add(MemoryMarshal.TryGetArray(memory, out var segment) ? segment : new ArraySegment<byte>(memory.ToArray()));
        }
    }

    private void ShutDown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Let what is queued (MQTTnet's DISCONNECT, the last acknowledgements) leave before the socket closes;
            // a writer stuck behind a full queue gets the gate back once the socket is shut down below.
            if (_writeGate.Wait(DisposeDrainTimeout))
            {
                _queue.Writer.Complete();
                _writeGate.Release();
                try
                {
                    _sender.Wait(DisposeDrainTimeout);
                }
                catch (AggregateException)
                {
                    // The sender's failure was already handed to the writers.
                }
            }
            ShutDown();
            _reads.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// A network stream that asks Linux to acknowledge what arrives at once (<c>TCP_QUICKACK</c>, set again after every
/// receive, since the kernel falls back to delayed acknowledgements by itself). A broker with Nagle's algorithm on — mosquitto's
/// default (<c>set_tcp_nodelay false</c>) — holds its next small packet until the previous one is acknowledged, and a
/// delayed acknowledgement takes 40 ms: the alert publisher waited 40 ms for PUBACKs that way, which was most of the alert
/// latency at 2,000 readings/s (BENCHMARKS.md, sixth session). Elsewhere it is a plain network stream.
/// Each receive costs one more system call and each segment its own acknowledgement, so only the alert publisher uses it.
/// </summary>
internal sealed class QuickAckNetworkStream(Socket socket) : NetworkStream(socket, ownsSocket: true)
{
    private const int IpProtoTcp = 6;
    private const int TcpQuickAck = 12;
    private bool _quickAck = OperatingSystem.IsLinux();

    public override int Read(Span<byte> buffer)
    {
        var n = base.Read(buffer);
        AckQuickly();
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await base.ReadAsync(buffer, cancellationToken);
        AckQuickly();
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void AckQuickly()
    {
        if (!_quickAck)
        {
            return;
        }
        try
        {
            var on = 1;
            Socket.SetRawSocketOption(IpProtoTcp, TcpQuickAck, MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in on)));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or PlatformNotSupportedException)
        {
            // Closed, or not supported here: acknowledgements are merely delayed as before; stop trying.
            _quickAck = false;
        }
    }
}
