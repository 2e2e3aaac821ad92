using System.Buffers;
using System.Text.Json;
using Telemetry.Alerting.Engine;

namespace Telemetry.Alerting.State;

/// <summary>What survives a restart: the engine's memory and the silences.</summary>
public sealed class PersistedState
{
    public int Version { get; set; } = 1;
    public AlertEngineState Engine { get; set; } = new();
    public List<Silence> Silences { get; set; } = [];

    /// <summary>The last journal record this snapshot holds; newer ones are applied on top at restore.</summary>
    public long JournalSeq { get; set; }
}

/// <summary>
/// The state file (<c>Telemetry:Alerts:StateFile</c>). Written atomically: a temporary file beside it, flushed to the
/// disk, then renamed over the old one, so a power cut leaves either the old or the new state, never half of one.
/// </summary>
public static class StateFile
{
    /// <summary>Reads the state; null when there is none. A file that cannot be read throws <see cref="JsonException"/>.</summary>
    public static PersistedState? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<PersistedState>(stream, StateJson.Options);
    }

    /// <summary>
    /// Writes the live state as the serializer would write the whole <see cref="PersistedState"/>, without stopping the engine for it: its sensors a few at
    /// a time, each group under <paramref name="engineLock"/> and written to the file outside it. Once a fleet has run
    /// for hours every sensor carries full 15-minute and 8-hour windows (16 KB of JSON for a gas sensor): 2,000 sensors
    /// made 33 MB and a quarter of a second of serializing, and the engine loop wrote and flushed it all before it
    /// dispatched anything, every <c>SaveInterval</c> (BENCHMARKS.md, eleventh session). Each sensor is as it was when
    /// written, none older than the journal record <paramref name="journalSeq"/>; the records after it, replayed on top,
    /// bring every rule to its newest (a record carries the whole rule, its episodes merge).
    /// </summary>
    internal static void Save(string path, AlertEngineState engine, Lock engineLock, IReadOnlyList<Silence> silences, long journalSeq, int chunkBytes = 64 * 1024)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var sensorInfo = StateJsonContext.Default.SensorState;
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            // Into memory under the lock (the serializer flushes its writer after every value), to the file outside it.
            var buffer = new ArrayBufferWriter<byte>(2 * chunkBytes);
            using var writer = new Utf8JsonWriter(buffer);
            writer.WriteStartObject();
            writer.WriteNumber(nameof(PersistedState.Version), new PersistedState().Version);
            writer.WriteStartObject(nameof(PersistedState.Engine));
            writer.WriteNumber(nameof(AlertEngineState.Version), engine.Version);
            writer.WriteStartArray(nameof(AlertEngineState.Sensors));
            writer.Flush();
            var next = 0;
            do
            {
                stream.Write(buffer.WrittenSpan);
                buffer.ResetWrittenCount();
                lock (engineLock)
                {
                    // The engine only ever appends sensors, so an index walks them all, new ones included.
                    while (next < engine.Sensors.Count && buffer.WrittenCount < chunkBytes)
                    {
                        JsonSerializer.Serialize(writer, engine.Sensors[next++], sensorInfo);
                    }
                }
            }
            while (buffer.WrittenCount > 0);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WritePropertyName(nameof(PersistedState.Silences));
            JsonSerializer.Serialize(writer, silences as List<Silence> ?? silences.ToList(), StateJsonContext.Default.ListSilence);
            writer.WriteNumber(nameof(PersistedState.JournalSeq), journalSeq);
            writer.WriteEndObject();
            writer.Flush();
            stream.Write(buffer.WrittenSpan);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }
}
