using System.Text.Json.Serialization;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.State;

/// <summary>
/// A silence (SPEC §7.5): holds back webhook and e-mail notifications of matching alerts between
/// <see cref="StartsAt"/> and <see cref="EndsAt"/>. Every matcher given must match; at least one is required.
/// </summary>
public sealed record Silence
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("site")] public string? Site { get; init; }
    [JsonPropertyName("tunnel")] public string? Tunnel { get; init; }
    [JsonPropertyName("sensor")] public string? Sensor { get; init; }
    [JsonPropertyName("rule")] public string? Rule { get; init; }
    [JsonPropertyName("starts_at")] public required DateTimeOffset StartsAt { get; init; }
    [JsonPropertyName("ends_at")] public required DateTimeOffset EndsAt { get; init; }
    [JsonPropertyName("created_by")] public required string CreatedBy { get; init; }
    [JsonPropertyName("comment")] public string? Comment { get; init; }

    public bool Matches(AlertEvent e, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(e);
        return at >= StartsAt && at < EndsAt
            && (Site is null || Site == e.Site)
            && (Tunnel is null || Tunnel == e.Tunnel)
            && (Sensor is null || Sensor == e.Sensor)
            && (Rule is null || Rule == e.Rule);
    }

    public bool IsActive(DateTimeOffset at) => at >= StartsAt && at < EndsAt;
}

/// <summary>What a person asks for when creating a silence (<c>POST /api/silences</c>).</summary>
public sealed record SilenceRequest
{
    [JsonPropertyName("site")] public string? Site { get; init; }
    [JsonPropertyName("tunnel")] public string? Tunnel { get; init; }
    [JsonPropertyName("sensor")] public string? Sensor { get; init; }
    [JsonPropertyName("rule")] public string? Rule { get; init; }

    /// <summary>Default: now.</summary>
    [JsonPropertyName("starts_at")] public DateTimeOffset? StartsAt { get; init; }

    /// <summary>Either <c>ends_at</c> or <c>duration</c> (e.g. <c>2h</c>).</summary>
    [JsonPropertyName("ends_at")] public DateTimeOffset? EndsAt { get; init; }
    [JsonPropertyName("duration")] public string? Duration { get; init; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; init; }
    [JsonPropertyName("comment")] public string? Comment { get; init; }

    private static bool TryAdd(DateTimeOffset start, TimeSpan duration, out DateTimeOffset end)
    {
        try
        {
            end = start + duration;
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            end = default;
            return false;
        }
    }

    /// <summary>Checks the request; on success <paramref name="silence"/> is ready to store.</summary>
    public bool TryCreate(DateTimeOffset now, out Silence silence, out List<string> errors)
    {
        errors = [];
        silence = null!;
        if (string.IsNullOrWhiteSpace(Site) && string.IsNullOrWhiteSpace(Tunnel) && string.IsNullOrWhiteSpace(Sensor) && string.IsNullOrWhiteSpace(Rule))
        {
            errors.Add("a silence needs at least one of site, tunnel, sensor, rule");
        }
        // Sensor and tunnel names are only unique within their tunnel and site: "gas-0007" alone would mute every
        // gas-0007 of the complex, red notifications included. A rule alone is allowed (mute it everywhere, knowingly).
        if (!string.IsNullOrWhiteSpace(Sensor) && (string.IsNullOrWhiteSpace(Site) || string.IsNullOrWhiteSpace(Tunnel)))
        {
            errors.Add("a silence for a sensor names its site and tunnel too");
        }
        else if (!string.IsNullOrWhiteSpace(Tunnel) && string.IsNullOrWhiteSpace(Site))
        {
            errors.Add("a silence for a tunnel names its site too");
        }
        if (string.IsNullOrWhiteSpace(CreatedBy))
        {
            errors.Add("created_by is required");
        }
        var starts = StartsAt ?? now;
        DateTimeOffset? ends = EndsAt;
        if (Duration is not null)
        {
            if (Rules.Durations.TryParse(Duration, out var d) && d > TimeSpan.Zero && TryAdd(starts, d, out var end))
            {
                ends = end;
            }
            else
            {
                errors.Add($"duration '{Duration}' is not a positive duration (30m, 2h, 1d)");
            }
        }
        if (ends is null)
        {
            errors.Add("ends_at or duration is required");
        }
        else if (ends <= starts)
        {
            errors.Add("ends_at must be after starts_at");
        }
        if (errors.Count > 0)
        {
            return false;
        }
        silence = new Silence
        {
            Id = Guid.NewGuid().ToString("N")[..12],
            Site = Site,
            Tunnel = Tunnel,
            Sensor = Sensor,
            Rule = Rule,
            StartsAt = starts,
            EndsAt = ends!.Value,
            CreatedBy = CreatedBy!,
            Comment = Comment,
        };
        return true;
    }
}

/// <summary>The silences in force; thread-safe (HTTP handlers write, channel dispatch reads).</summary>
public sealed class SilenceStore
{
    private readonly Lock _lock = new();
    private List<Silence> _silences = [];

    public IReadOnlyList<Silence> List()
    {
        lock (_lock)
        {
            return _silences.ToList();
        }
    }

    public void Add(Silence silence)
    {
        lock (_lock)
        {
            _silences.Add(silence);
        }
    }

    /// <summary>Ends a silence now (it stays listed, for the record).</summary>
    public Silence? Expire(string id, DateTimeOffset now)
    {
        lock (_lock)
        {
            var i = _silences.FindIndex(s => s.Id == id);
            if (i < 0)
            {
                return null;
            }
            if (_silences[i].EndsAt > now)
            {
                _silences[i] = _silences[i] with { EndsAt = now < _silences[i].StartsAt ? _silences[i].StartsAt : now };
            }
            return _silences[i];
        }
    }

    public bool Delete(string id)
    {
        lock (_lock)
        {
            return _silences.RemoveAll(s => s.Id == id) > 0;
        }
    }

    public bool IsSilenced(AlertEvent e, DateTimeOffset now)
    {
        lock (_lock)
        {
            return _silences.Exists(s => s.Matches(e, now));
        }
    }

    /// <summary>Replaces the content (restore), dropping silences that ended more than a week ago.</summary>
    public void Restore(IEnumerable<Silence> silences, DateTimeOffset now)
    {
        lock (_lock)
        {
            _silences = silences.Where(s => s.EndsAt > now - TimeSpan.FromDays(7)).ToList();
        }
    }
}
