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
/// The snapshot (<see cref="StateFile"/>) is still written atomically every <c>SaveInterval</c>, on acknowledgements,
/// silences and shutdown; after each one the journal starts again.
/// </summary>
public sealed class StateJournal : IDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private readonly string _path;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly Utf8JsonWriter _writer;
    private FileStream? _stream;

    public StateJournal(string stateFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateFile);
        _path = Path.GetFullPath(stateFile) + ".journal";
        _writer = new Utf8JsonWriter(_buffer);
    }

    public string FilePath => _path;

    /// <summary>Bytes appended since the journal last started again.</summary>
    public long Length => _stream?.Length ?? (File.Exists(_path) ? new FileInfo(_path).Length : 0);

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
        }
        catch (IOException)
        {
            try
            {
                stream.SetLength(before);
            }
            catch (IOException)
            {
                // The disk is failing: the caller writes the whole state instead, and that starts the journal again.
            }
            Close();
            throw;
        }
    }

    /// <summary>
    /// Cuts off the last <paramref name="bytes"/>, the write a crash left unfinished (<see cref="Read"/> counts them), so
    /// that records appended from now on are read after a later restart instead of being glued onto it.
    /// </summary>
    public void DropUnreadableTail(long bytes)
    {
        var stream = Open();
        stream.SetLength(Math.Max(0, stream.Length - bytes));
        stream.Flush(flushToDisk: true);
        stream.Seek(0, SeekOrigin.End);
    }

    /// <summary>Starts the journal again: called once a snapshot that holds every record has been written.</summary>
    public void Reset()
    {
        var stream = Open();
        stream.SetLength(0);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// The records after <paramref name="afterSeq"/>, in order. A line that cannot be read (a write cut off by a crash)
    /// ends the replay: <paramref name="unreadable"/> says how many bytes from there were left out.
    /// </summary>
    public List<JournalRecord> Read(long afterSeq, out long unreadable)
    {
        unreadable = 0;
        var records = new List<JournalRecord>();
        if (!File.Exists(_path))
        {
            return records;
        }
        var bytes = File.ReadAllBytes(_path);
        var span = bytes.AsSpan();
        var offset = 0;
        while (offset < span.Length)
        {
            var end = span[offset..].IndexOf((byte)'\n');
            if (end < 0)
            {
                // No newline: the last append did not finish, so its batch was never dispatched either.
                unreadable = span.Length - offset;
                break;
            }
            JournalRecord? record;
            try
            {
                record = JsonSerializer.Deserialize<JournalRecord>(span.Slice(offset, end), StateJson.Options);
            }
            catch (JsonException)
            {
                record = null;
            }
            if (record is null)
            {
                unreadable = span.Length - offset;
                break;
            }
            if (record.Seq > afterSeq)
            {
                records.Add(record);
            }
            offset += end + 1;
        }
        return records;
    }

    /// <summary>Moves the journal aside with its snapshot when the snapshot could not be read.</summary>
    public void MoveAside(string suffix)
    {
        Close();
        if (File.Exists(_path))
        {
            File.Move(_path, _path + suffix, overwrite: true);
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
            _stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 4096, FileOptions.None);
            _stream.Seek(0, SeekOrigin.End);
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
