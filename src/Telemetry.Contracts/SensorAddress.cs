namespace Telemetry.Contracts;

/// <summary>Where a reading comes from: the validated segments of its topic (SPEC §2). Tags come only from here.</summary>
public sealed record SensorAddress(string Site, string Tunnel, SensorKind Kind, string Sensor)
{
    /// <summary>The topic this sensor publishes on under <paramref name="root"/>.</summary>
    public string Topic(string root) => $"{root}/{Site}/{Tunnel}/{Kind.Name()}/{Sensor}";

    private string? _key;

    /// <summary><c>{site}/{tunnel}/{sensor}</c>: the sensor's identity in alert ids and the registry.</summary>
    /// <remarks>Built once per address: the alert engine looks sensors up by it for every reading.</remarks>
    public string Key => _key ??= $"{Site}/{Tunnel}/{Sensor}";

    // `with` copies through here: the cached key is not copied, since the copy may get another site or sensor.
    private SensorAddress(SensorAddress original)
    {
        Site = original.Site;
        Tunnel = original.Tunnel;
        Kind = original.Kind;
        Sensor = original.Sensor;
    }

    // Equality is the four segments'; the cache is not part of it.
    public bool Equals(SensorAddress? other) =>
        other is not null && Kind == other.Kind && Site == other.Site && Tunnel == other.Tunnel && Sensor == other.Sensor;

    public override int GetHashCode() => HashCode.Combine(Site, Tunnel, Kind, Sensor);
}

/// <summary>Topic rules of SPEC §2: <c>{root}/{site}/{tunnel}/{kind}/{sensor}</c>, each segment <c>^[A-Za-z0-9_-]{1,64}$</c>.</summary>
public static class TopicPath
{
    public const int MaxSegmentLength = 64;

    public static bool IsValidSegment(ReadOnlySpan<char> segment)
    {
        if (segment.Length is 0 or > MaxSegmentLength)
        {
            return false;
        }
        foreach (var c in segment)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Parses a reading topic; on failure <paramref name="error"/> says what is wrong, for the <c>bad_topic</c> detail.</summary>
    public static bool TryParse(string topic, string root, out SensorAddress address, out string error)
    {
        address = null!;
        Span<Range> parts = stackalloc Range[7];
        var span = topic.AsSpan();
        var count = span.Split(parts, '/');
        if (count != 5)
        {
            error = $"expected {root}/{{site}}/{{tunnel}}/{{kind}}/{{sensor}}, got {Math.Min(count, 6)}{(count > 5 ? "+" : "")} segments";
            return false;
        }
        if (!span[parts[0]].SequenceEqual(root))
        {
            error = $"topic root is not '{root}'";
            return false;
        }
        ReadOnlySpan<string> names = ["site", "tunnel", "kind", "sensor"];
        for (var i = 1; i < 5; i++)
        {
            if (!IsValidSegment(span[parts[i]]))
            {
                error = $"{names[i - 1]} segment must match ^[A-Za-z0-9_-]{{1,64}}$";
                return false;
            }
        }
        if (!SensorKinds.TryParse(span[parts[3]], out var kind))
        {
            error = "kind must be humidity, gas or strain";
            return false;
        }
        address = new SensorAddress(topic[parts[1]], topic[parts[2]], kind, topic[parts[4]]);
        error = "";
        return true;
    }
}
