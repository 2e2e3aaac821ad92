using System.Globalization;
using System.Text;
using System.Text.Json;
using Telemetry.Contracts;

namespace Telemetry.Simulator.Recording;

/// <summary>
/// Moves the <c>ts</c> of every reading in a payload by a fixed shift, so a recorded feed replays as if it were
/// happening now while the gaps between readings stay exact. Only the <c>ts</c> values are spliced; every other
/// byte is kept, and payloads that are not valid JSON, or whose <c>ts</c> is not a time, are left as they are
/// (they were recorded to be rejected, and must still be rejected for the same reason).
/// </summary>
internal static class TimestampRebaser
{
    public static byte[] Shift(byte[] payload, long shiftMs)
    {
        if (shiftMs == 0 || !TryFindTimestamps(payload, out var spots) || spots.Count == 0)
        {
            return payload;
        }
        var output = new List<byte>(payload.Length + 8);
        var at = 0;
        foreach (var (start, length, replacement) in spots.Select(s => (s.Start, s.Length, Replacement(s, shiftMs))))
        {
            output.AddRange(payload.AsSpan(at, start - at));
            output.AddRange(replacement);
            at = start + length;
        }
        output.AddRange(payload.AsSpan(at));
        return [.. output];
    }

    /// <summary>
    /// The time a recording started, estimated as the median of <c>ts − offset</c> over its readings: normal
    /// readings are stamped exactly at their offset, so skewed clocks and backlogs cannot move the median.
    /// </summary>
    public static long? EstimateStartMs(IEnumerable<(long OffsetMs, byte[] Payload)> messages, int sample = 5000)
    {
        var candidates = new List<long>();
        foreach (var (offset, payload) in messages)
        {
            if (TryFindTimestamps(payload, out var spots) && spots.Count == 1 && spots[0].UnixMs is { } ts)
            {
                candidates.Add(ts - offset);
                if (candidates.Count == sample)
                {
                    break;
                }
            }
        }
        if (candidates.Count == 0)
        {
            return null;
        }
        candidates.Sort();
        return candidates[candidates.Count / 2];
    }

    private static byte[] Replacement(Spot s, long shiftMs)
    {
        var ms = s.UnixMs!.Value + shiftMs;
        return s.IsNumber
            ? Encoding.UTF8.GetBytes(ms.ToString(CultureInfo.InvariantCulture))
            : Encoding.UTF8.GetBytes("\"" + Rfc3339.Format(ms) + "\"");
    }

    private readonly record struct Spot(int Start, int Length, bool IsNumber, long? UnixMs);

    /// <summary>Finds the <c>ts</c> members of the reading objects (depth 1 in an object root, 2 in an array root).</summary>
    private static bool TryFindTimestamps(byte[] payload, out List<Spot> spots)
    {
        spots = [];
        try
        {
            var reader = new Utf8JsonReader(payload);
            // Members of a root object sit at depth 1; members of the objects in a root array at depth 2.
            var memberDepth = -1;
            while (reader.Read())
            {
                if (memberDepth < 0)
                {
                    memberDepth = reader.TokenType == JsonTokenType.StartArray ? 2 : 1;
                }
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != memberDepth || !reader.ValueTextEquals("ts"u8))
                {
                    continue;
                }
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n))
                {
                    spots.Add(new Spot(start, reader.ValueSpan.Length, true, n));
                }
                else if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && Rfc3339.TryParseUnixMs(reader.ValueSpan, out var t))
                {
                    spots.Add(new Spot(start, reader.ValueSpan.Length + 2, false, t));
                }
                else
                {
                    reader.Skip();
                }
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
