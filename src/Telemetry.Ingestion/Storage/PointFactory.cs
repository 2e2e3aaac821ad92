using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;
using Field = Telemetry.Contracts.Field;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Spool;

namespace Telemetry.Ingestion.Storage;

/// <summary>
/// Builds the line protocol of SPEC §6 with InfluxDB.Client's <see cref="PointData"/> (which escapes measurement,
/// tags and strings). Every line is at nanosecond precision so one write request carries readings (millisecond
/// times) and quarantine rows (unique nanosecond times) together.
/// </summary>
internal sealed class PointFactory(IOptions<IngestionOptions> options, TimeProvider time)
{
    public const int MaxRawPayloadBytes = 1024;
    private const long NsPerMs = 1_000_000;
    private readonly string _instance = options.Value.InstanceOrMachine;
    private long _lastUniqueNs;
    private long _alertSequence;

    public string Instance => _instance;

    /// <summary>A reading point: tags only from the validated topic (plus registry tags), floats, integer <c>seq</c>.</summary>
    /// <remarks>
    /// The hot path (one call per reading). <see cref="PointData"/> stays the authority on the line's shape: it renders
    /// each sensor's measurement-and-tags head and each field set's order and escaped keys once (cached); per reading
    /// only the values are appended, formatted exactly as <see cref="PointData"/> formats them (shortest round-trip doubles,
    /// <c>i</c>-suffixed integers, integer nanoseconds). Byte-identical to <see cref="ReadingViaPointData"/> (tested).
    /// </remarks>
    public static string Reading(SensorAddress address, Reading reading, IReadOnlyList<KeyValuePair<string, string>>? extraTags = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(reading);
        if (extraTags is not null || !TryGetHead(address, out var head))
        {
            return ReadingViaPointData(address, reading, extraTags);
        }
        return BuildReading(head, reading)?.ToString() ?? "";
    }

    /// <summary><see cref="Reading"/> appended to <paramref name="batch"/> as UTF-8, without a string in between.</summary>
    internal static void AddReading(SpoolBatch batch, SensorAddress address, Reading reading, IReadOnlyList<KeyValuePair<string, string>>? extraTags)
    {
        if (extraTags is not null || !TryGetHead(address, out var head))
        {
            batch.Add(ReadingViaPointData(address, reading, extraTags), isReading: true);
        }
        else if (BuildReading(head, reading) is { } line)
        {
            batch.Add(line, isReading: true);
        }
    }

    // The line in the thread's builder (valid until its next use), or null when no field is left to write.
    private static StringBuilder? BuildReading(string head, Reading reading)
    {
        var layout = FieldLayout.For(reading);
        var sb = t_builder ??= new StringBuilder(256);
        sb.Clear().Append(head);
        var appended = false;
        foreach (var (key, slot) in layout.Keys)
        {
            if (slot == FieldLayout.SeqSlot)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{(appended ? "," : "")}{key}{reading.Seq!.Value}i");
                appended = true;
            }
            else if (reading.TryGet((Field)slot, out var value) && double.IsFinite(value))
            {
                // PointData leaves out NaN and infinities (the decoder never lets them through).
                sb.Append(CultureInfo.InvariantCulture, $"{(appended ? "," : "")}{key}{value}");
                appended = true;
            }
        }
        return appended ? sb.Append(CultureInfo.InvariantCulture, $" {reading.TimestampMs * NsPerMs}") : null;
    }

    /// <summary>The reading's line built entirely by <see cref="PointData"/>: the reference for <see cref="Reading"/>.</summary>
    internal static string ReadingViaPointData(SensorAddress address, Reading reading, IReadOnlyList<KeyValuePair<string, string>>? extraTags = null)
    {
        var p = PointData.Measurement(address.Kind.Name())
            .Tag(Schema.TagSite, address.Site)
            .Tag(Schema.TagTunnel, address.Tunnel)
            .Tag(Schema.TagSensor, address.Sensor);
        if (extraTags is not null)
        {
            foreach (var (k, v) in extraTags)
            {
                p = p.Tag(k, v);
            }
        }
        foreach (var (field, value) in reading.Fields())
        {
            p = p.Field(field.Spec().Name, value);
        }
        if (reading.Seq is { } seq)
        {
            p = p.Field(Schema.FieldSeq, seq);
        }
        return p.Timestamp(reading.TimestampMs * NsPerMs, WritePrecision.Ns).ToLineProtocol();
    }

    // Measurement and tags as PointData renders them, up to and including the space before the fields. Bounded, so a
    // flood of made-up sensor ids cannot grow it without limit (beyond the cap lines are built by PointData alone).
    private static bool TryGetHead(SensorAddress address, out string head)
    {
        if (Heads.TryGetValue(address, out head!))
        {
            return true;
        }
        if (Heads.Count >= MaxCachedSensors)
        {
            return false;
        }
        const string probe = "f=true";
        var line = PointData.Measurement(address.Kind.Name())
            .Tag(Schema.TagSite, address.Site)
            .Tag(Schema.TagTunnel, address.Tunnel)
            .Tag(Schema.TagSensor, address.Sensor)
            .Field("f", true)
            .ToLineProtocol();
        head = Heads.GetOrAdd(address, line[..^probe.Length]);
        return true;
    }

    private const int MaxCachedSensors = 100_000;
    private static readonly ConcurrentDictionary<SensorAddress, string> Heads = new();
    [ThreadStatic] private static StringBuilder? t_builder;

    /// <summary>
    /// For one set of present fields (and seq or not): the order PointData writes them in, with each key already
    /// escaped and followed by <c>=</c>. Learned from PointData by rendering the set with each field's position as an
    /// integer value.
    /// </summary>
    private sealed class FieldLayout
    {
        public const int SeqSlot = -1;
        private static readonly ConcurrentDictionary<int, FieldLayout> ByMask = new();

        private FieldLayout(List<(string Key, int Slot)> keys) => Keys = keys;

        public List<(string Key, int Slot)> Keys { get; }

        public static FieldLayout For(Reading reading)
        {
            var mask = 0;
            for (var i = 0; i < FieldCatalogue.FieldCount; i++)
            {
                if (reading.Has((Field)i))
                {
                    mask |= 1 << i;
                }
            }
            if (reading.Seq is not null)
            {
                mask |= 1 << FieldCatalogue.FieldCount;
            }
            return ByMask.TryGetValue(mask, out var layout) ? layout : ByMask.GetOrAdd(mask, Learn);
        }

        private static FieldLayout Learn(int mask)
        {
            var slots = new List<int>();
            var p = PointData.Measurement("m");
            for (var i = 0; i <= FieldCatalogue.FieldCount; i++)
            {
                if ((mask & (1 << i)) != 0)
                {
                    var slot = i == FieldCatalogue.FieldCount ? SeqSlot : i;
                    p = p.Field(slot == SeqSlot ? Schema.FieldSeq : ((Field)slot).Spec().Name, (long)slots.Count);
                    slots.Add(slot);
                }
            }
            // "m k0=0i,k1=1i,..."; catalogue names hold no comma, so each part is "<escaped key>=<position>i".
            var keys = new List<(string, int)>();
            if (slots.Count > 0)
            {
                foreach (var part in p.ToLineProtocol()[2..].Split(','))
                {
                    var eq = part.LastIndexOf('=');
                    keys.Add((part[..(eq + 1)], slots[int.Parse(part.AsSpan(eq + 1, part.Length - eq - 2), CultureInfo.InvariantCulture)]));
                }
            }
            return new FieldLayout(keys);
        }
    }

    /// <summary>A <c>rejected</c> row (SPEC §5–6) with a timestamp unique within this instance, so a flood keeps every row.</summary>
    public string Rejected(RejectionReason reason, string topic, string field, string detail, ReadOnlySpan<byte> payload) =>
        PointData.Measurement(Schema.Rejected)
            .Tag(Schema.TagReason, reason.Name())
            .Tag(Schema.TagInstance, _instance)
            .Field(Schema.RejectedTopic, Clean(topic))
            .Field(Schema.RejectedField, Clean(field))
            .Field(Schema.RejectedPayload, RawPayload(payload))
            .Field(Schema.RejectedDetail, Clean(detail))
            .Timestamp(UniqueNs(), WritePrecision.Ns)
            .ToLineProtocol();

    /// <summary>
    /// An <c>alerts</c> row (SPEC §6): every event is kept, so who acknowledged what and when is auditable. Events
    /// of one alert that share a reading time (raised then acknowledged, say) get distinct nanoseconds.
    /// </summary>
    public string Alert(AlertEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return AlertLine(e, AlertNs(e));
    }

    /// <summary><see cref="Alert"/> appended to <paramref name="batch"/> as UTF-8, without a string in between.</summary>
    internal void AddAlert(SpoolBatch batch, AlertEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var ns = AlertNs(e);
        if (TryGetAlertHead(e, out var head))
        {
            batch.Add(BuildAlert(head, e, ns), isReading: false);
        }
        else
        {
            batch.Add(AlertViaPointData(e, ns), isReading: false);
        }
    }

    // The reading's millisecond plus a unique sub-millisecond part: rows never overwrite each other.
    private long AlertNs(AlertEvent e) => (e.Ts.ToUnixTimeMilliseconds() * NsPerMs) + (Interlocked.Increment(ref _alertSequence) % NsPerMs);

    /// <remarks>
    /// One call per alert event, and an alert storm makes that thousands a second: like <see cref="Reading"/>, the
    /// measurement-and-tags head (per tag combination) and the field order with escaped keys (per set of present
    /// fields) are rendered by <see cref="PointData"/> once and cached; per event only the values are appended, strings
    /// escaped as PointData escapes them. Byte-identical to <see cref="AlertViaPointData"/> (tested).
    /// </remarks>
    internal static string AlertLine(AlertEvent e, long ns)
    {
        return TryGetAlertHead(e, out var head) ? BuildAlert(head, e, ns).ToString() : AlertViaPointData(e, ns);
    }

    // The line in the thread's builder, valid until its next use.
    private static StringBuilder BuildAlert(string head, AlertEvent e, long ns)
    {
        var mask = (e.Value is { } v && double.IsFinite(v) ? 1 : 0) | (e.Threshold is { } t && double.IsFinite(t) ? 2 : 0) | (e.AcknowledgedBy is null ? 0 : 4);
        var sb = t_builder ??= new StringBuilder(256);
        sb.Clear().Append(head);
        var first = true;
        foreach (var (key, slot) in AlertLayouts[mask])
        {
            sb.Append(first ? "" : ",").Append(key);
            first = false;
            switch (slot)
            {
                case AlertSlot.Value:
                    sb.Append(CultureInfo.InvariantCulture, $"{e.Value!.Value}");
                    break;
                case AlertSlot.Threshold:
                    sb.Append(CultureInfo.InvariantCulture, $"{e.Threshold!.Value}");
                    break;
                case AlertSlot.Message:
                    AppendString(sb, Clean(e.Message));
                    break;
                case AlertSlot.Id:
                    AppendString(sb, e.AlertId);
                    break;
                default:
                    AppendString(sb, Clean(e.AcknowledgedBy!));
                    break;
            }
        }
        return sb.Append(CultureInfo.InvariantCulture, $" {ns}");
    }

    /// <summary>The event's line built entirely by <see cref="PointData"/>: the reference for <see cref="AlertLine"/>.</summary>
    internal static string AlertViaPointData(AlertEvent e, long ns)
    {
        var p = AlertTags(PointData.Measurement(Schema.Alerts), e)
            .Field(Schema.AlertMessage, Clean(e.Message))
            .Field(Schema.AlertId, e.AlertId);
        if (e.Value is { } v)
        {
            p = p.Field(Schema.AlertValue, v);
        }
        if (e.Threshold is { } t)
        {
            p = p.Field(Schema.AlertThreshold, t);
        }
        if (e.AcknowledgedBy is { } by)
        {
            p = p.Field(Schema.AlertAcknowledgedBy, Clean(by));
        }
        return p.Timestamp(ns, WritePrecision.Ns).ToLineProtocol();
    }

    private static PointData AlertTags(PointData p, AlertEvent e) => p
        .Tag(Schema.TagSite, e.Site)
        .Tag(Schema.TagTunnel, e.Tunnel)
        .Tag(Schema.TagSensor, e.Sensor)
        .Tag(Schema.TagKind, e.Kind)
        .Tag(Schema.TagRule, e.Rule)
        .Tag(Schema.TagLevel, e.Level)
        .Tag(Schema.TagState, StateName(e.State));

    private static bool TryGetAlertHead(AlertEvent e, out string head)
    {
        var key = (e.Site, e.Tunnel, e.Sensor, e.Kind, e.Rule, e.Level, e.State);
        if (AlertHeads.TryGetValue(key, out head!))
        {
            return true;
        }
        if (AlertHeads.Count >= MaxCachedSensors)
        {
            return false;
        }
        const string probe = "f=true";
        var line = AlertTags(PointData.Measurement(Schema.Alerts), e).Field("f", true).ToLineProtocol();
        head = AlertHeads.GetOrAdd(key, line[..^probe.Length]);
        return true;
    }

    // PointData's string escaping: a backslash or a double quote gets a backslash.
    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            if (c is '\\' or '"')
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        sb.Append('"');
    }

    private enum AlertSlot
    {
        Value,
        Threshold,
        Message,
        Id,
        AcknowledgedBy,
    }

    private static readonly ConcurrentDictionary<(string, string, string, string, string, string, AlertState), string> AlertHeads = new();

    // For each set of present optional fields (bit 0 value, 1 threshold, 2 acknowledged_by): the order PointData
    // writes the fields in, each key escaped and followed by '='. Learned from PointData with positions as values.
    private static readonly (string Key, AlertSlot Slot)[][] AlertLayouts = Enumerable.Range(0, 8).Select(LearnAlertLayout).ToArray();

    private static (string, AlertSlot)[] LearnAlertLayout(int mask)
    {
        var slots = new List<(string Name, AlertSlot Slot)> { (Schema.AlertMessage, AlertSlot.Message), (Schema.AlertId, AlertSlot.Id) };
        if ((mask & 1) != 0)
        {
            slots.Add((Schema.AlertValue, AlertSlot.Value));
        }
        if ((mask & 2) != 0)
        {
            slots.Add((Schema.AlertThreshold, AlertSlot.Threshold));
        }
        if ((mask & 4) != 0)
        {
            slots.Add((Schema.AlertAcknowledgedBy, AlertSlot.AcknowledgedBy));
        }
        var p = PointData.Measurement("m");
        for (var i = 0; i < slots.Count; i++)
        {
            p = p.Field(slots[i].Name, (long)i);
        }
        // "m k0=0i,k1=1i,..."; the schema's field names hold no comma.
        return p.ToLineProtocol()[2..].Split(',').Select(part =>
        {
            var eq = part.LastIndexOf('=');
            return (part[..(eq + 1)], slots[int.Parse(part.AsSpan(eq + 1, part.Length - eq - 2), CultureInfo.InvariantCulture)].Slot);
        }).ToArray();
    }

    private static string StateName(AlertState s) => s switch
    {
        AlertState.Raised => "raised",
        AlertState.Escalated => "escalated",
        AlertState.Deescalated => "deescalated",
        AlertState.Cleared => "cleared",
        _ => "acknowledged",
    };

    /// <summary>An <c>ingest_stats</c> row.</summary>
    public string Stats(IEnumerable<KeyValuePair<string, double>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var p = PointData.Measurement(Schema.IngestStats).Tag(Schema.TagInstance, _instance);
        foreach (var (k, v) in fields)
        {
            p = p.Field(k, v);
        }
        return p.Timestamp(UniqueNs(), WritePrecision.Ns).ToLineProtocol();
    }

    /// <summary>Now in nanoseconds, strictly increasing per instance (several rows in one millisecond stay distinct).</summary>
    public long UniqueNs()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds() * NsPerMs;
        while (true)
        {
            var last = Interlocked.Read(ref _lastUniqueNs);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref _lastUniqueNs, next, last) == last)
            {
                return next;
            }
        }
    }

    /// <summary>The first 1 KiB of a payload as text (invalid UTF-8 shown as U+FFFD).</summary>
    public static string RawPayload(ReadOnlySpan<byte> payload) =>
        Clean(Encoding.UTF8.GetString(payload[..Math.Min(payload.Length, MaxRawPayloadBytes)]));

    // Line protocol cannot carry a raw newline in a field value: keep it visible as the two characters \n.
    private static string Clean(string s) =>
        s.AsSpan().IndexOfAny('\n', '\r') < 0 ? s : s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
