using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;

namespace Telemetry.Ingestion.Mqtt;

/// <summary>
/// Builds the subscribing connection's transport: MQTTnet's own TCP (and TLS) channel wrapped in an
/// <see cref="IngressChannel"/>, under an <see cref="IngressAdapter"/> that hands every PUBLISH to
/// <paramref name="onPublish"/>. Keeps the channel of the current connection so the ingress can coalesce its acks.
/// </summary>
internal sealed class IngressAdapterFactory(
    Func<MqttPublishPacket, IngressAdapter, ValueTask> onPublish,
    Action<int>? onWindowExceeded = null) : IMqttClientAdapterFactory
{
    private volatile IngressChannel? _current;

    /// <summary>The channel of the newest connection, or null before the first connect.</summary>
    public IngressChannel? Current => _current;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var window = options.ReceiveMaximum == 0 ? ushort.MaxValue : options.ReceiveMaximum;
        var channel = new IngressChannel(new MqttTcpChannel(options), window, onWindowExceeded);
        _current = channel;
        var formatter = new MqttPacketFormatterAdapter(options.ProtocolVersion, new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax));
        return new IngressAdapter(new MqttChannelAdapter(channel, formatter, logger)
        {
            AllowPacketFragmentation = options.AllowPacketFragmentation,
            PacketInspector = packetInspector,
        }, onPublish);
    }
}

/// <summary>
/// The subscribing connection's byte stream, with two jobs MQTTnet 5.2 does not do.
/// <para>
/// <b>It enforces the receive maximum we announce.</b> mosquitto 2.0 sends a resumed session's queued messages
/// far beyond the client's receive maximum once acknowledgements flow (measured: 180,000 unacknowledged QoS 1
/// messages against a receive maximum of 8,192 while draining a 300,000-message backlog), and MQTTnet reads
/// everything the socket has into an unbounded queue, so memory grew with the backlog. This channel follows the
/// MQTT framing of both directions, counts QoS 1 PUBLISH packets read and PUBACKs written, and stops reading at the
/// start of a PUBLISH that would exceed the window until an acknowledgement frees a slot. TCP flow control then
/// holds the rest in the broker. Packets other than QoS 1 PUBLISH (a PINGRESP, a SUBACK) are always read.
/// </para>
/// <para>
/// <b>It coalesces acknowledgements.</b> Between <see cref="BeginCoalescing"/> and <see cref="FlushAsync"/> writes
/// are collected and sent as one socket write: a durable group of 4,096 messages costs one send instead of 4,096.
/// </para>
/// </summary>
internal sealed class IngressChannel : IMqttChannel
{
    private const int PublishType = 3;
    private const int PubAckType = 4;

    private readonly IMqttChannel _inner;
    private readonly int _window;
    private readonly Action<int>? _onWindowExceeded;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly object _gate = new();
    private readonly ArrayBufferWriter<byte> _pending = new(16 * 1024);
    private Framing _in;
    private Framing _out;
    private long _publishesRead;
    private long _acksWritten;
    private bool _coalescing;
    private bool _windowExceededReported;
    private bool _closed;
    private TaskCompletionSource? _ackWaiter;

    public IngressChannel(IMqttChannel inner, int window, Action<int>? onWindowExceeded = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        _inner = inner;
        _window = window;
        _onWindowExceeded = onWindowExceeded;
    }

    /// <summary>QoS 1 messages read from the broker and not yet acknowledged on this connection.</summary>
    public long Unacknowledged => Interlocked.Read(ref _publishesRead) - Interlocked.Read(ref _acksWritten);

    public X509Certificate2 ClientCertificate => _inner.ClientCertificate;

    public EndPoint RemoteEndPoint => _inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => _inner.LocalEndPoint;

    public bool IsSecureConnection => _inner.IsSecureConnection;

    public Task ConnectAsync(CancellationToken cancellationToken) => _inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        Close();
        return _inner.DisconnectAsync(cancellationToken);
    }

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (count > 0 && _in.AtPacketStart && Unacknowledged >= _window)
        {
            return ReadAtFullWindowAsync(buffer, offset, cancellationToken);
        }
        var reading = _inner.ReadAsync(buffer, offset, count, cancellationToken);
        if (!reading.IsCompletedSuccessfully)
        {
            return ObserveAsync(reading, buffer, offset);
        }
        // Usually served from the transport's buffer at once: hand back its task rather than a new one per read.
        Observe(buffer, offset, reading.Result);
        return reading;
    }

    private async Task<int> ObserveAsync(Task<int> reading, byte[] buffer, int offset)
    {
        var read = await reading.ConfigureAwait(false);
        Observe(buffer, offset, read);
        return read;
    }

    private void Observe(byte[] buffer, int offset, int read)
    {
        if (read > 0)
        {
            var publishes = _in.Observe(buffer.AsSpan(offset, read));
            if (publishes > 0)
            {
                Interlocked.Add(ref _publishesRead, publishes);
            }
        }
    }

    private async Task<int> ReadAtFullWindowAsync(byte[] buffer, int offset, CancellationToken cancellationToken)
    {
        // The window is full: read only the next packet's first byte to learn what it is.
        var n = await _inner.ReadAsync(buffer, offset, 1, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            return 0;
        }
        if (_in.Observe(buffer.AsSpan(offset, 1)) > 0)
        {
            Interlocked.Increment(ref _publishesRead);
            await WaitForWindowAsync(cancellationToken).ConfigureAwait(false);
        }
        return 1;
    }

    public async Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_coalescing)
            {
                foreach (var segment in buffer)
                {
                    _pending.Write(segment.Span);
                }
                CountWritten(buffer);
                return;
            }
        }
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _inner.WriteAsync(buffer, isEndOfPacket, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        CountWritten(buffer);
    }

    /// <summary>From now until <see cref="FlushAsync"/>, writes are collected instead of sent.</summary>
    public void BeginCoalescing()
    {
        lock (_gate)
        {
            _coalescing = true;
        }
    }

    /// <summary>Sends what was collected since <see cref="BeginCoalescing"/> as one write, and stops collecting.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[]? bytes = null;
            lock (_gate)
            {
                _coalescing = false;
                if (_pending.WrittenCount > 0)
                {
                    bytes = _pending.WrittenSpan.ToArray();
                    _pending.ResetWrittenCount();
                }
            }
            if (bytes is not null)
            {
                await _inner.WriteAsync(new ReadOnlySequence<byte>(bytes), true, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        Close();
        _inner.Dispose();
        _writeLock.Dispose();
    }

    private void CountWritten(ReadOnlySequence<byte> buffer)
    {
        var acks = 0;
        lock (_gate)
        {
            foreach (var segment in buffer)
            {
                acks += _out.Observe(segment.Span, PubAckType);
            }
        }
        if (acks > 0)
        {
            Interlocked.Add(ref _acksWritten, acks);
            ReleaseWaiter();
        }
    }

    private async Task WaitForWindowAsync(CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (Unacknowledged <= _window || _closed)
                {
                    return;
                }
                if (!_windowExceededReported)
                {
                    _windowExceededReported = true;
                    _onWindowExceeded?.Invoke(_window);
                }
                _ackWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _ackWaiter.Task;
            }
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private void Close()
    {
        lock (_gate)
        {
            _closed = true;
        }
        ReleaseWaiter();
    }

    private void ReleaseWaiter()
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            waiter = _ackWaiter;
            _ackWaiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>
    /// Follows MQTT's framing over a byte stream split anywhere: a type byte, a variable-length remaining length,
    /// then that many bytes. Counts the packets of one kind whose type byte it saw.
    /// </summary>
    internal struct Framing
    {
        private int _state; // 0: type byte next, 1: remaining length, 2: body
        private int _remaining;
        private int _shift;

        public readonly bool AtPacketStart => _state == 0;

        /// <summary>Observes bytes read from the broker; returns how many QoS 1 PUBLISH packets began in them.</summary>
        public int Observe(ReadOnlySpan<byte> bytes) => Observe(bytes, -1);

        /// <summary>Observes bytes; returns how many packets of <paramref name="type"/> began in them (-1: QoS 1 PUBLISH).</summary>
        public int Observe(ReadOnlySpan<byte> bytes, int type)
        {
            var count = 0;
            var i = 0;
            while (i < bytes.Length)
            {
                switch (_state)
                {
                    case 0:
                        var b = bytes[i++];
                        var t = b >> 4;
                        if (type < 0 ? t == PublishType && ((b >> 1) & 3) == 1 : t == type)
                        {
                            count++;
                        }
                        _state = 1;
                        _remaining = 0;
                        _shift = 0;
                        break;
                    case 1:
                        var l = bytes[i++];
                        _remaining |= (l & 0x7F) << _shift;
                        _shift += 7;
                        if ((l & 0x80) == 0)
                        {
                            _state = _remaining > 0 ? 2 : 0;
                        }
                        break;
                    default:
                        var skip = Math.Min(_remaining, bytes.Length - i);
                        i += skip;
                        _remaining -= skip;
                        if (_remaining == 0)
                        {
                            _state = 0;
                        }
                        break;
                }
            }
            return count;
        }
    }
}
