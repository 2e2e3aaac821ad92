using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;

namespace Telemetry.Ingestion.Spool;

/// <summary>
/// The local durable spool of SPEC §8: an append-only log of segment files. The processor appends one record per
/// group of messages and fsyncs once (a group commit) before acknowledging them; the forwarder reads records in
/// order, and once InfluxDB accepted them moves the checkpoint and deletes whole segments behind it. At
/// <see cref="SpoolOptions.MaxBytes"/> appends wait for space, so the service stops acknowledging and the broker
/// holds the rest. A crash can tear only the last record of the last segment: it is detected and cut off at start.
/// One appender and one reader at a time.
/// </summary>
internal sealed partial class DurableSpool : IDisposable
{
    private const string SegmentSuffix = ".seg";
    private const string CheckpointFile = "checkpoint";

    private readonly SpoolOptions _o;
    private readonly IngestMetrics _metrics;
    private readonly ILogger<DurableSpool> _logger;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly object _gate = new();
    private readonly SortedDictionary<long, long> _segments = []; // index → bytes on disk
    private readonly byte[] _header = new byte[SpoolRecord.HeaderSize];
    private FileStream? _tail;
    private long _tailIndex;
    private Position _durableEnd;
    private Position _checkpoint;
    private long _pendingReadings;
    private long _totalBytes;
    private bool _fullLogged;
    private TaskCompletionSource _dataAvailable = NewSignal();
    private TaskCompletionSource _spaceAvailable = NewSignal();
    private FileStream? _reader;
    private readonly Func<string, FileStream> _openSegment;
    // The tail holds part of a failed append that could not be cut off (under _appendLock).
    private bool _tailTorn;
    private long _readerIndex = -1;

    public DurableSpool(IOptions<SpoolOptions> options, IngestMetrics metrics, ILogger<DurableSpool> logger)
        : this(options, metrics, logger, openSegment: null)
    {
    }

    // openSegment opens a segment file for appending (tests: a disk that fails); null: the real one.
    internal DurableSpool(IOptions<SpoolOptions> options, IngestMetrics metrics, ILogger<DurableSpool> logger, Func<string, FileStream>? openSegment)
    {
        _openSegment = openSegment ?? (path => new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, bufferSize: 0));
        _o = options.Value;
        _metrics = metrics;
        _logger = logger;
        Directory = Path.GetFullPath(_o.Directory);
        Recover();
    }

    public string Directory { get; }

    /// <summary>Readings appended and not yet committed by the forwarder.</summary>
    public long PendingReadings => Interlocked.Read(ref _pendingReadings);

    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>True while an append waits for space: acknowledging has stopped.</summary>
    public bool IsFull { get; private set; }

    /// <summary>True when every appended record was committed by the forwarder.</summary>
    public bool IsDrained
    {
        get
        {
            lock (_gate)
            {
                return _checkpoint == _durableEnd;
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="batch"/> and makes it durable (fsync) before returning. Waits while the spool is at
    /// its cap. The caller acknowledges the batch's messages only after this completes.
    /// </summary>
    public async ValueTask AppendAsync(SpoolBatch batch, CancellationToken ct)
    {
        if (batch.Lines == 0)
        {
            return;
        }
        var size = SpoolRecord.HeaderSize + batch.Bytes;
        await _appendLock.WaitAsync(ct);
        try
        {
            await WaitForSpaceAsync(size, ct);
            var tail = _tail!;
            if (_tailTorn)
            {
                // An earlier append failed and could not be cut back then: try again, and append nothing behind it.
                long durable;
                lock (_gate)
                {
                    durable = _segments[_tailIndex];
                }
                CutBack(tail, durable);
                if (_tailTorn)
                {
                    throw new IOException($"spool segment {tail.Name} could not be cut back to its last durable record");
                }
            }
            if (tail.Length > 0 && tail.Length + size > _o.SegmentBytes)
            {
                tail = RollSegment();
            }
            SpoolRecord.WriteHeader(_header, batch.Payload, batch.Lines, batch.Readings, batch.CreatedMs);
            var before = tail.Position;
            try
            {
                tail.Write(_header);
                tail.Write(batch.Payload);
                // The group commit: one fsync for every message of the batch.
                tail.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                // A full or failing disk: cut off what part of the record got written, or the records appended after it
                // (once space is back) would sit behind an unreadable one, which reading and recovery stop at.
                CutBack(tail, before);
                throw;
            }
            lock (_gate)
            {
                _segments[_tailIndex] = tail.Length;
                _durableEnd = new Position(_tailIndex, tail.Length);
                _totalBytes += size;
                _pendingReadings += batch.Readings;
                Signal(ref _dataAvailable);
            }
            UpdateGauges();
        }
        finally
        {
            _appendLock.Release();
        }
    }

    /// <summary>
    /// Waits until at least one record is durable beyond the checkpoint, then reads records from the checkpoint up to
    /// about <paramref name="maxLines"/> lines. The caller calls <see cref="Commit"/> once InfluxDB accepted them.
    /// </summary>
    public async Task<SpoolChunk> ReadAsync(int maxLines, CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_checkpoint != _durableEnd)
                {
                    break;
                }
                wait = _dataAvailable.Task;
            }
            await wait.WaitAsync(ct);
        }
        var chunk = new SpoolChunk();
        Position pos;
        Position end;
        lock (_gate)
        {
            pos = _checkpoint;
            end = _durableEnd;
        }
        while (pos != end && (chunk.Lines < maxLines || chunk.Records.Count == 0))
        {
            if (!TryReadRecord(ref pos, end, chunk))
            {
                break;
            }
        }
        chunk.End = pos;
        return chunk;
    }

    /// <summary>
    /// Moves the checkpoint past <paramref name="chunk"/> and deletes segments that are wholly behind it. The caller
    /// still owns the chunk (and disposes it).
    /// </summary>
    public void Commit(SpoolChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var deleted = new List<long>();
        lock (_gate)
        {
            _checkpoint = chunk.End;
            _pendingReadings -= chunk.Readings;
            foreach (var (index, _) in _segments)
            {
                if (index >= _checkpoint.Segment || index == _tailIndex)
                {
                    break;
                }
                deleted.Add(index);
            }
            foreach (var index in deleted)
            {
                _totalBytes -= _segments[index];
                _segments.Remove(index);
            }
            Signal(ref _spaceAvailable);
        }
        foreach (var index in deleted)
        {
            if (_readerIndex == index)
            {
                CloseReader();
            }
            File.Delete(SegmentPath(index));
        }
        WriteCheckpoint(chunk.End);
        UpdateGauges();
    }

    /// <summary>Creation time of the oldest record not yet committed, or null when the spool is drained.</summary>
    public long? OldestPendingCreatedMs()
    {
        Position pos;
        lock (_gate)
        {
            if (_checkpoint == _durableEnd)
            {
                return null;
            }
            pos = _checkpoint;
        }
        try
        {
            using var f = OpenRead(pos.Segment);
            Span<byte> header = stackalloc byte[SpoolRecord.HeaderSize];
            f.Position = pos.Offset;
            f.ReadExactly(header);
            return SpoolRecord.TryReadHeader(header, out var h) ? h.CreatedMs : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _tail?.Dispose();
        CloseReader();
        _appendLock.Dispose();
    }

    private async Task WaitForSpaceAsync(int size, CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                // An empty spool always takes one batch, however large, so nothing can wedge.
                if (_totalBytes + size <= _o.MaxBytes || _checkpoint == _durableEnd)
                {
                    if (IsFull)
                    {
                        IsFull = false;
                        _fullLogged = false;
                        _metrics.SpoolFull.Set(0);
                        Log.SpaceAgain(_logger, _totalBytes);
                    }
                    return;
                }
                wait = _spaceAvailable.Task;
                if (!IsFull)
                {
                    IsFull = true;
                    _metrics.SpoolFull.Set(1);
                }
            }
            if (!_fullLogged)
            {
                _fullLogged = true;
                Log.Full(_logger, _totalBytes, _o.MaxBytes);
            }
            await wait.WaitAsync(ct);
        }
    }

    private bool TryReadRecord(ref Position pos, Position end, SpoolChunk chunk)
    {
        var reader = ReaderFor(pos.Segment);
        var segmentEnd = pos.Segment == end.Segment ? end.Offset : reader.Length;
        if (pos.Offset >= segmentEnd)
        {
            // Past the end of a finished segment: on to the next one that exists.
            pos = NextSegment(pos.Segment);
            return pos != end;
        }
        Span<byte> header = stackalloc byte[SpoolRecord.HeaderSize];
        reader.Position = pos.Offset;
        var ok = pos.Offset + SpoolRecord.HeaderSize <= segmentEnd;
        SpoolRecord.Header h = default;
        if (ok)
        {
            reader.ReadExactly(header);
            ok = SpoolRecord.TryReadHeader(header, out h) && pos.Offset + h.TotalSize <= segmentEnd;
        }
        byte[]? payload = null;
        if (ok)
        {
            payload = ArrayPool<byte>.Shared.Rent(Math.Max(h.Length, 1));
            reader.ReadExactly(payload, 0, h.Length);
            ok = SpoolRecord.ChecksumMatches(header, payload.AsSpan(0, h.Length), h);
        }
        if (!ok)
        {
            if (payload is not null)
            {
                ArrayPool<byte>.Shared.Return(payload);
            }
            // Only disk corruption gets here (a torn tail is cut off at start): skip the rest of the segment, loudly.
            Log.CorruptRecord(_logger, SegmentPath(pos.Segment), pos.Offset);
            pos = pos.Segment == end.Segment ? end : NextSegment(pos.Segment);
            return pos != end;
        }
        chunk.Add(payload!, h.Length, h.Lines, h.Readings, h.CreatedMs);
        pos = new Position(pos.Segment, pos.Offset + h.TotalSize);
        return true;
    }

    private Position NextSegment(long index)
    {
        lock (_gate)
        {
            foreach (var (i, _) in _segments)
            {
                if (i > index)
                {
                    return new Position(i, 0);
                }
            }
            return _durableEnd;
        }
    }

    private FileStream ReaderFor(long index)
    {
        if (_readerIndex != index || _reader is null)
        {
            CloseReader();
            _reader = OpenRead(index);
            _readerIndex = index;
        }
        return _reader;
    }

    private FileStream OpenRead(long index) =>
        // Unbuffered: the tail segment grows under the reader, and a read buffer could hold a stale end.
        new(SegmentPath(index), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    private void CloseReader()
    {
        _reader?.Dispose();
        _reader = null;
        _readerIndex = -1;
    }

    private FileStream RollSegment()
    {
        _tail!.Flush(flushToDisk: true);
        _tail.Dispose();
        _tailIndex++;
        _tail = OpenTail(_tailIndex);
        lock (_gate)
        {
            _segments[_tailIndex] = 0;
        }
        return _tail;
    }

    private void CutBack(FileStream tail, long length)
    {
        try
        {
            tail.SetLength(length);
            tail.Seek(length, SeekOrigin.Begin);
            _tailTorn = false;
        }
        catch (IOException)
        {
            // Cannot even truncate: the next append tries again first and appends nothing behind it; a restart's
            // recovery cuts the torn record off, as after a crash.
            _tailTorn = true;
        }
    }

    private FileStream OpenTail(long index)
    {
        var path = SegmentPath(index);
        var existed = File.Exists(path);
        var f = _openSegment(path);
        f.Seek(0, SeekOrigin.End);
        if (!existed)
        {
            // A new file's directory entry must be durable too, or a power cut could lose the whole segment.
            SyncDirectory(Directory);
        }
        return f;
    }

    private void Recover()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var indexes = System.IO.Directory.EnumerateFiles(Directory, "*" + SegmentSuffix)
            .Select(p => long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1)
            .Where(i => i >= 0).Order().ToList();
        var checkpoint = ReadCheckpoint();
        if (indexes.Count == 0 || checkpoint.Segment < indexes[0])
        {
            checkpoint = new Position(indexes.Count == 0 ? 0 : indexes[0], 0);
        }
        foreach (var stale in indexes.Where(i => i < checkpoint.Segment).ToList())
        {
            File.Delete(SegmentPath(stale));
            indexes.Remove(stale);
        }
        if (indexes.Count == 0)
        {
            indexes.Add(checkpoint.Segment);
        }
        _tailIndex = indexes[^1];
        foreach (var index in indexes)
        {
            var (validLength, readings) = Scan(index, index == checkpoint.Segment ? checkpoint.Offset : 0, verify: index == _tailIndex);
            var path = SegmentPath(index);
            var actual = File.Exists(path) ? new FileInfo(path).Length : 0;
            if (index == _tailIndex && actual > validLength)
            {
                using (var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read))
                {
                    f.SetLength(validLength);
                    f.Flush(flushToDisk: true);
                }
                Log.TornTail(_logger, path, actual - validLength, validLength);
                actual = validLength;
            }
            _segments[index] = actual;
            _totalBytes += actual;
            _pendingReadings += readings;
        }
        if (checkpoint.Offset > _segments[checkpoint.Segment])
        {
            checkpoint = new Position(checkpoint.Segment, _segments[checkpoint.Segment]);
        }
        _checkpoint = checkpoint;
        _tail = OpenTail(_tailIndex);
        _durableEnd = new Position(_tailIndex, _tail.Length);
        if (_pendingReadings > 0)
        {
            Log.Recovered(_logger, _pendingReadings, _totalBytes, Directory);
        }
        UpdateGauges();
    }

    /// <summary>Walks a segment's records; returns the length of its valid prefix and the readings after <paramref name="from"/>.</summary>
    private (long ValidLength, long Readings) Scan(long index, long from, bool verify)
    {
        var path = SegmentPath(index);
        if (!File.Exists(path))
        {
            return (0, 0);
        }
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        var header = new byte[SpoolRecord.HeaderSize];
        byte[] payload = [];
        long offset = 0;
        long readings = 0;
        while (offset + SpoolRecord.HeaderSize <= f.Length)
        {
            f.Position = offset;
            f.ReadExactly(header);
            if (!SpoolRecord.TryReadHeader(header, out var h) || offset + h.TotalSize > f.Length)
            {
                break;
            }
            if (verify)
            {
                if (payload.Length < h.Length)
                {
                    payload = new byte[Math.Max(h.Length, payload.Length * 2)];
                }
                f.ReadExactly(payload, 0, h.Length);
                if (!SpoolRecord.ChecksumMatches(header, payload.AsSpan(0, h.Length), h))
                {
                    break;
                }
            }
            if (offset >= from)
            {
                readings += h.Readings;
            }
            offset += h.TotalSize;
        }
        return (offset, readings);
    }

    private Position ReadCheckpoint()
    {
        var path = Path.Combine(Directory, CheckpointFile);
        if (!File.Exists(path))
        {
            return default;
        }
        var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var s)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var o)
            ? new Position(s, o)
            : default;
    }

    // Not fsynced on purpose: a lost checkpoint only re-sends records InfluxDB already has, and identical lines are
    // idempotent there (point identity, SPEC §6).
    private void WriteCheckpoint(Position p)
    {
        var path = Path.Combine(Directory, CheckpointFile);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, string.Create(CultureInfo.InvariantCulture, $"{p.Segment} {p.Offset}"));
        File.Move(tmp, path, overwrite: true);
    }

    private string SegmentPath(long index) => Path.Combine(Directory, index.ToString("D12", CultureInfo.InvariantCulture) + SegmentSuffix);

    private void UpdateGauges()
    {
        _metrics.SpoolReadings.Set(PendingReadings);
        _metrics.SpoolBytes.Set(TotalBytes);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Signal(ref TaskCompletionSource signal)
    {
        var old = signal;
        signal = NewSignal();
        old.TrySetResult();
    }

    private static void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var fd = Native.open(path, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = Native.fsync(fd);
            _ = Native.close(fd);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        public static partial int open(string path, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int fsync(int fd);

        [LibraryImport("libc")]
        public static partial int close(int fd);
    }

    internal readonly record struct Position(long Segment, long Offset);
}

/// <summary>Records read from the spool for one forward attempt; owns pooled buffers until committed.</summary>
internal sealed class SpoolChunk : IDisposable
{
    public List<(byte[] Buffer, int Length)> Records { get; } = [];
    public int Lines { get; private set; }
    public int Readings { get; private set; }
    public long OldestCreatedMs { get; private set; } = long.MaxValue;
    internal DurableSpool.Position End { get; set; }

    public void Add(byte[] buffer, int length, int lines, int readings, long createdMs)
    {
        Records.Add((buffer, length));
        Lines += lines;
        Readings += readings;
        OldestCreatedMs = Math.Min(OldestCreatedMs, createdMs);
    }

    /// <summary>Every line of the chunk, in order.</summary>
    public List<ReadOnlyMemory<byte>> SplitLines()
    {
        var lines = new List<ReadOnlyMemory<byte>>(Lines);
        foreach (var (buffer, length) in Records)
        {
            var memory = new ReadOnlyMemory<byte>(buffer, 0, length);
            var start = 0;
            while (start < length)
            {
                var nl = memory.Span[start..].IndexOf((byte)'\n');
                var end = nl < 0 ? length : start + nl;
                if (end > start)
                {
                    lines.Add(memory[start..end]);
                }
                start = end + 1;
            }
        }
        return lines;
    }

    public void Dispose()
    {
        foreach (var (buffer, _) in Records)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        Records.Clear();
    }
}
