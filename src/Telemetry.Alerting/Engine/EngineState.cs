using System.Text.Json.Serialization;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Engine;

// The engine's whole memory, as plain serializable data (SPEC §13: a value that can be saved and restored).
// Short JSON names on the high-volume members keep state files small; the rest stay readable.

/// <summary>Everything the engine remembers. Serialize it to persist; pass it to a new engine to continue.</summary>
public sealed class AlertEngineState
{
    public int Version { get; set; } = 1;
    public List<SensorState> Sensors { get; set; } = [];
}

public sealed class SensorState
{
    public required string Site { get; set; }
    public required string Tunnel { get; set; }
    public required string Kind { get; set; }
    public required string Sensor { get; set; }

    /// <summary>The newest reading time evaluated live (Unix ms); older readings are a backlog, equal ones duplicates.</summary>
    public long NewestMs { get; set; } = long.MinValue;

    /// <summary>Clock time (Unix ms) a reading last arrived: what <c>stale</c> measures.</summary>
    public long LastSeenMs { get; set; }

    public Dictionary<string, RuleState> Rules { get; set; } = new(StringComparer.Ordinal);

    [JsonIgnore] internal Telemetry.Contracts.SensorAddress? Address { get; set; }
    [JsonIgnore] internal SensorProfile? Profile { get; set; }
}

public sealed class RuleState
{
    public AlertLevel Level { get; set; }

    /// <summary>The state of the last transition event (what a repeat re-sends).</summary>
    public AlertState LastState { get; set; }
    public long SinceMs { get; set; }
    public double? Value { get; set; }
    public double? Threshold { get; set; }
    public string? Message { get; set; }

    /// <summary>Reading time since which the value has been at or past amber / red: the start of a pending <c>for</c>.</summary>
    public long? AmberPendingMs { get; set; }
    public long? RedPendingMs { get; set; }

    /// <summary>Reading time of the newest live input of this rule's field (Unix ms): per-rule duplicates, and how long its value holds.</summary>
    public long? LastInputMs { get; set; }

    /// <summary>Own times (Unix ms) of live inputs judged at the clock's earlier time, until the clock passes them: duplicates.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<long>? AheadMs { get; set; }

    /// <summary>The last metric evaluated: what a clock-driven <c>for</c> fires with.</summary>
    public double? LastMetric { get; set; }

    /// <summary>Clock time of the last notification of this alert, for <c>repeat</c>.</summary>
    public long LastNotifiedMs { get; set; }

    public string? AckBy { get; set; }
    public string? AckNote { get; set; }
    public long? AckMs { get; set; }

    public AverageWindow? Average { get; set; }
    public RateWindow? Rate { get; set; }

    /// <summary>Recent episodes (reading-time intervals), so a replayed backlog never reports one twice. Bounded.</summary>
    public List<Episode> Episodes { get; set; } = [];

    /// <summary>How many recent <see cref="Episodes"/> are kept.</summary>
    internal const int MaxEpisodes = 16;

    /// <summary>Episodes added since this state was created or restored (the engine counts them).</summary>
    [JsonIgnore] internal long EpisodesAdded { get; set; }

    /// <summary>How many of <see cref="EpisodesAdded"/> a journal record already holds.</summary>
    [JsonIgnore] internal long EpisodesJournaled { get; set; }

    internal void AddEpisode(Episode e)
    {
        Episodes.Add(e);
        EpisodesAdded++;
        if (Episodes.Count > MaxEpisodes)
        {
            Episodes.RemoveRange(0, Episodes.Count - MaxEpisodes);
        }
    }

    /// <summary>
    /// This state for the journal: without its windows (the snapshot has them), and with only the episodes no journal
    /// record holds yet plus the one before them, which a clear may have ended since. Replaying merges them onto the
    /// episodes before (<see cref="Telemetry.Alerting.State.StateJournal.Apply"/>). A storm's record carried all
    /// sixteen for every rule that changed, most of its bytes and of the time spent writing it (BENCHMARKS.md, tenth
    /// session). Shares the rest, so serialize it at once.
    /// </summary>
    internal RuleState ForJournal()
    {
        var copy = (RuleState)MemberwiseClone();
        copy.Average = null;
        copy.Rate = null;
        var newest = (int)Math.Min(Episodes.Count, EpisodesAdded - EpisodesJournaled + 1);
        copy.Episodes = newest == Episodes.Count ? Episodes : Episodes.GetRange(Episodes.Count - newest, newest);
        return copy;
    }
}

public sealed class Episode
{
    [JsonPropertyName("f")] public long FromMs { get; set; }

    /// <summary>Null while the episode is still active.</summary>
    [JsonPropertyName("t")] public long? ToMs { get; set; }

    /// <summary>
    /// A backlog episode still in alarm at the backlog's last reading (<see cref="ToMs"/>): the next backlog array may
    /// carry on with it, which continues this episode rather than raising it again.
    /// </summary>
    [JsonPropertyName("o")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool OpenEnded { get; set; }

    /// <summary>The level an <see cref="OpenEnded"/> episode was in at <see cref="ToMs"/> (null: not known).</summary>
    [JsonPropertyName("v")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AlertLevel? EndLevel { get; set; }
}
