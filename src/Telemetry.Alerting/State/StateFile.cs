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
    public static byte[] Serialize(PersistedState state) => JsonSerializer.SerializeToUtf8Bytes(state, StateJson.Options);

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

    public static void Save(string path, ReadOnlySpan<byte> bytes)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }
}
