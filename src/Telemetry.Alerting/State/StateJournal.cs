using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Telemetry.Alerting.Engine;

namespace Telemetry.Alerting.State;

/// <summary>
/// One durable step of the journal: the rules a batch of transitions changed, with their sensors' reading clocks.
/// <see cref="Seq"/> orders it against the snapshot, which names the last step it already holds.
/// </summary>
public sealed class JournalRecord
{
    [JsonPropertyName("q")] public long Seq { get; set; }
    [JsonPropertyName("c")] public List<JournalChange> Changes { get; set; } = [];
}

/// <summary>One rule of one sensor after a transition; <see cref="State"/> null means the rule's state was removed.</summary>
public sealed class JournalChange
{
    public required string Site { get; set; }
    public required string Tunnel { get; set; }
    public required string Kind { get; set; }
    public required string Sensor { get; set; }
    [JsonPropertyName("n")] public long NewestMs { get; set; }
    [JsonPropertyName("l")] public long LastSeenMs { get; set; }
    [JsonPropertyName("r")] public required string Rule { get; set; }

    /// <summary>
    /// The rule's state without its windows (those are in the snapshot, at most <c>SaveInterval</c> old), and with only
    /// its newest episodes: those no earlier record holds, and the one before them. Older records hold every episode the
    /// rule kept; both merge the same way.
    /// </summary>
    [JsonPropertyName("s")] public RuleState? State { get; set; }
}

/// <summary>
/// The journal beside the state file (<c>{StateFile}.journal</c>): one JSON line per batch of transitions, appended and
/// flushed to the disk before the batch is dispatched. Writing the whole state for every transition cost a large file
/// rewrite per batch — in an alert storm most of the alert service's CPU — while a journal line costs what changed.
/// The snapshot (<see cref="StateFile"/>) is still written atomically every <c>SaveInterval</c>, on
/// silences and shutdown, while the engine goes on: the records before it are set apart first
/// (<c>{StateFile}.journal.previous</c>, <see cref="Rotate"/>) and deleted once it is on disk (<see cref="DropPrevious"/>),
/// so the records journaled while it is written stay in the journal.
/// </summary>
public sealed class StateJournal : IDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly string _path;
    private readonly string _previous;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly Utf8JsonWriter _writer;
    private FileStream? _stream;
    private readonly Dictionary<string, long> _tails = [];
    private long _length;

    public StateJournal(string stateFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateFile);
        _path = Path.GetFullPath(stateFile) + ".journal";
        _previous = _path + ".previous";
        _writer = new Utf8JsonWriter(_buffer);
        _length = File.Exists(_path) ? new FileInfo(_path).Length : 0;
    }

    public string FilePath => _path;

    /// <summary>Records set apart for a snapshot that is not on disk yet (being written, or it failed).</summary>
    public bool HasPrevious => File.Exists(_previous);

    /// <summary>Bytes appended since the journal was last set apart.</summary>
    public long Length => Volatile.Read(ref _length);

    /// <summary>
    /// A record as the journal stores it, in a buffer this journal reuses (a storm's record can be 100 KB: a new array
    /// each time would land on the large-object heap). Valid until the next call; serialize under the engine's lock,
    /// since the record shares the live state's lists, and append before serializing another.
    /// </summary>
    public ReadOnlyMemory<byte> Serialize(JournalRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, record, StateJson.Options);
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    /// <summary>
    /// Appends one serialized record and flushes it to the disk. A write that fails is cut off again where it can be, so
    /// the next record does not land after half of this one (the replay stops at the first line it cannot read).
    /// </summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        var stream = Open();
        var before = stream.Position;
        try
        {
            stream.Write(bytes);
            stream.Write(NewLine);
            stream.Flush(flushToDisk: true);
            Volatile.Write(ref _length, stream.Length);
        }
        catch (IOException)
        {
            try
            {
                stream.SetLength(before);
            }
            catch (IOException)
            {
                // The disk is failing: the caller writes the whole state instead, which sets this journal apart.
            }
            Close();
            throw;
        }
    }

    /// <summary>
    /// Cuts off what the last <see cref="Read"/> could not read, the write a crash left unfinished, so that records
    /// appended from now on are read after a later restart instead of being glued onto it.
    /// </summary>
    public void DropUnreadableTail()
    {
        Close();
        foreach (var (path, bytes) in _tails)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            stream.SetLength(Math.Max(0, stream.Length - bytes));
            stream.Flush(flushToDisk: true);
        }
        _tails.Clear();
        Volatile.Write(ref _length, File.Exists(_path) ? new FileInfo(_path).Length : 0);
    }

    /// <summary>
    /// Sets the records so far apart for a snapshot about to be written: later appends start a new journal. When an
    /// earlier snapshot did not make it to disk, its records are still set apart, and these go after them.
    /// </summary>
    public void Rotate()
    {
        Close();
        Volatile.Write(ref _length, 0);
        if (!File.Exists(_path))
        {
            return;
        }
        if (!File.Exists(_previous))
        {
            File.Move(_path, _previous);
            return;
        }
        using (var previous = new FileStream(_previous, FileMode.Append, FileAccess.Write, FileShare.Read))
        using (var current = File.OpenRead(_path))
        {
            current.CopyTo(previous);
            previous.Flush(flushToDisk: true);
        }
        // A crash before this delete leaves the records in both files: the replay reads each sequence number once.
        File.Delete(_path);
    }

    /// <summary>Deletes the records set apart: called once a snapshot that holds them all has been written.</summary>
    public void DropPrevious() => File.Delete(_previous);

    /// <summary>
    /// The records after <paramref name="afterSeq"/>, in order. A line that cannot be read (a write cut off by a crash)
    /// ends the replay: <paramref name="unreadable"/> says how many bytes from there were left out.
    /// </summary>
    public List<JournalRecord> Read(long afterSeq, out long unreadable)
    {
        _tails.Clear();
        var records = new List<JournalRecord>();
        // The records set apart for a snapshot that never made it to disk come first.
        unreadable = ReadFile(_previous, afterSeq, records) + ReadFile(_path, afterSeq, records);
        return records;
    }

    private long ReadFile(string path, long afterSeq, List<JournalRecord> records)
    {
        if (!File.Exists(path))
        {
            return 0;
        }
        var bytes = File.ReadAllBytes(path);
        var span = bytes.AsSpan();
        var offset = 0;
        while (offset < span.Length)
        {
            var end = span[offset..].IndexOf((byte)'\n');
            JournalRecord? record = null;
            if (end >= 0)
            {
                try
                {
                    record = JsonSerializer.Deserialize<JournalRecord>(span.Slice(offset, end), StateJson.Options);
                }
                catch (JsonException)
                {
                }
            }
            if (record is null)
            {
                // No newline, or not a record: the last append did not finish, so its batch was never dispatched either.
                _tails[path] = span.Length - offset;
                return span.Length - offset;
            }
            if (record.Seq > afterSeq && (records.Count == 0 || record.Seq > records[^1].Seq))
            {
                records.Add(record);
            }
            offset += end + 1;
        }
        return 0;
    }

    /// <summary>Moves the journal aside with its snapshot when the snapshot could not be read.</summary>
    public void MoveAside(string suffix)
    {
        Close();
        foreach (var path in new[] { _previous, _path })
        {
            if (File.Exists(path))
            {
                File.Move(path, path + suffix, overwrite: true);
            }
        }
    }

    /// <summary>Applies records to a restored state (or an empty one when there was no snapshot), oldest first.</summary>
    public static void Apply(AlertEngineState state, IEnumerable<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(records);
        var sensors = new Dictionary<(string, string, string), SensorState>();
        foreach (var s in state.Sensors)
        {
            sensors[(s.Site, s.Tunnel, s.Sensor)] = s;
        }
        foreach (var record in records)
        {
            foreach (var c in record.Changes)
            {
                if (!sensors.TryGetValue((c.Site, c.Tunnel, c.Sensor), out var s))
                {
                    s = new SensorState { Site = c.Site, Tunnel = c.Tunnel, Kind = c.Kind, Sensor = c.Sensor, NewestMs = c.NewestMs, LastSeenMs = c.LastSeenMs };
                    sensors[(c.Site, c.Tunnel, c.Sensor)] = s;
                    state.Sensors.Add(s);
                }
                s.NewestMs = Math.Max(s.NewestMs, c.NewestMs);
                s.LastSeenMs = Math.Max(s.LastSeenMs, c.LastSeenMs);
                if (c.State is null)
                {
                    s.Rules.Remove(c.Rule);
                }
                else if (s.Rules.TryGetValue(c.Rule, out var old))
                {
                    // The windows stay the snapshot's: the journal does not carry them.
                    c.State.Average = old.Average;
                    c.State.Rate = old.Rate;
                    c.State.Episodes = Merge(old.Episodes, c.State.Episodes);
                    s.Rules[c.Rule] = c.State;
                }
                else
                {
                    s.Rules[c.Rule] = c.State;
                }
            }
        }
    }

    /// <summary>
    /// A rule's episodes after a record: those it had, with each of the record's newest either ending the one that
    /// started at the same time or added after them, the oldest beyond the bound let go, as the engine does.
    /// </summary>
    private static List<Episode> Merge(List<Episode> before, List<Episode> newest)
    {
        var merged = new List<Episode>(before);
        foreach (var e in newest)
        {
            var same = merged.FindIndex(x => x.FromMs == e.FromMs);
            if (same >= 0)
            {
                merged[same] = e;
            }
            else
            {
                merged.Add(e);
            }
        }
        if (merged.Count > RuleState.MaxEpisodes)
        {
            merged.RemoveRange(0, merged.Count - RuleState.MaxEpisodes);
        }
        return merged;
    }

    private FileStream Open()
    {
        if (_stream is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            var stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 4096, FileOptions.None);
            try
            {
                // Not a file (a pipe, a device) throws here: the caller saves the whole state instead.
                stream.Seek(0, SeekOrigin.End);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
            _stream = stream;
        }
        return _stream;
    }

    private void Close()
    {
        _stream?.Dispose();
        _stream = null;
    }

    public void Dispose()
    {
        Close();
        _writer.Dispose();
    }
}
