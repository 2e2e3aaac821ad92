using System.Text.Json.Serialization;

namespace Telemetry.Alerting.Engine;

// Sliding windows with bounded memory: samples are folded into at most BucketsPerWindow fixed time buckets, so an
// 8-hour window costs the same whether a sensor reports every second or every ten minutes.

/// <summary>
/// Time-weighted mean over a sliding window. A sample's value holds from its time until the next sample, at most
/// <c>maxHold</c>; time not covered by any sample counts as zero exposure and the sum is divided by the full window
/// (the EH40 TWA definition: Σ cᵢ·tᵢ / T). See docs/alerting.md for why.
/// </summary>
public sealed class AverageWindow
{
    public const int BucketsPerWindow = 60;

    [JsonPropertyName("w")] public long WindowMs { get; set; }
    [JsonPropertyName("b")] public long BucketMs { get; set; }

    /// <summary>Each bucket: [start ms, ∫value·dt in value·ms, covered ms].</summary>
    [JsonPropertyName("k")] public List<double[]> Buckets { get; set; } = [];

    /// <summary>The newest sample, whose hold is still open.</summary>
    [JsonPropertyName("ot")] public long? OpenMs { get; set; }
    [JsonPropertyName("ov")] public double OpenValue { get; set; }

    public static AverageWindow For(TimeSpan window)
    {
        var w = (long)window.TotalMilliseconds;
        return new AverageWindow { WindowMs = w, BucketMs = Math.Max(1000, w / BucketsPerWindow) };
    }

    public void Add(long t, double value, long maxHoldMs)
    {
        if (OpenMs is { } open && t > open)
        {
            Commit(open, Math.Min(t, open + maxHoldMs), OpenValue);
        }
        OpenMs = t;
        OpenValue = value;
        Prune(t);
    }

    /// <summary>The mean over (at − window, at], the open sample held up to <paramref name="at"/>.</summary>
    public double Mean(long at, long maxHoldMs)
    {
        var start = at - WindowMs;
        double sum = 0;
        foreach (var b in Buckets)
        {
            var bStart = (long)b[0];
            var bEnd = bStart + BucketMs;
            var overlap = Math.Min(bEnd, at) - Math.Max(bStart, start);
            if (overlap <= 0)
            {
                continue;
            }
            // Inside a bucket the exposure is taken as evenly spread: the window edge costs at most one bucket's detail.
            sum += b[1] * Math.Min(1.0, (double)overlap / BucketMs);
        }
        if (OpenMs is { } open)
        {
            var from = Math.Max(open, start);
            var to = Math.Min(at, open + maxHoldMs);
            if (to > from)
            {
                sum += OpenValue * (to - from);
            }
        }
        return sum / WindowMs;
    }

    private void Commit(long from, long to, double value)
    {
        while (from < to)
        {
            var bStart = from - Mod(from, BucketMs);
            var end = Math.Min(to, bStart + BucketMs);
            var bucket = Buckets.Count > 0 && (long)Buckets[^1][0] == bStart ? Buckets[^1] : null;
            if (bucket is null)
            {
                bucket = [bStart, 0, 0];
                Buckets.Add(bucket);
            }
            bucket[1] += value * (end - from);
            bucket[2] += end - from;
            from = end;
        }
    }

    private void Prune(long at)
    {
        var drop = 0;
        while (drop < Buckets.Count && (long)Buckets[drop][0] + BucketMs <= at - WindowMs)
        {
            drop++;
        }
        Buckets.RemoveRange(0, drop);
    }

    internal static long Mod(long a, long b) => ((a % b) + b) % b;
}

/// <summary>
/// Change per hour over a sliding window: the least-squares slope of the samples, from per-bucket regression sums
/// (sums add, so buckets combine exactly). Evaluated only once the samples span half the window, so two noisy readings
/// a second apart never make a rate.
/// </summary>
public sealed class RateWindow
{
    public const int BucketsPerWindow = 60;
    private const double MsPerHour = 3_600_000;

    [JsonPropertyName("w")] public long WindowMs { get; set; }
    [JsonPropertyName("b")] public long BucketMs { get; set; }

    /// <summary>Each bucket: [start ms, n, Σx, Σy, Σx², Σxy, first ms, last ms], x in hours from the bucket start.</summary>
    [JsonPropertyName("k")] public List<double[]> Buckets { get; set; } = [];

    public static RateWindow For(TimeSpan window)
    {
        var w = (long)window.TotalMilliseconds;
        return new RateWindow { WindowMs = w, BucketMs = Math.Max(1000, w / BucketsPerWindow) };
    }

    public void Add(long t, double value)
    {
        var bStart = t - AverageWindow.Mod(t, BucketMs);
        var bucket = Buckets.Count > 0 && (long)Buckets[^1][0] == bStart ? Buckets[^1] : null;
        if (bucket is null)
        {
            bucket = [bStart, 0, 0, 0, 0, 0, t, t];
            Buckets.Add(bucket);
        }
        var x = (t - bStart) / MsPerHour;
        bucket[1] += 1;
        bucket[2] += x;
        bucket[3] += value;
        bucket[4] += x * x;
        bucket[5] += x * value;
        bucket[7] = t;
        var drop = 0;
        while (drop < Buckets.Count && (long)Buckets[drop][0] + BucketMs <= t - WindowMs)
        {
            drop++;
        }
        Buckets.RemoveRange(0, drop);
    }

    /// <summary>Units per hour over (at − window, at]; null while the samples span less than half the window.</summary>
    public double? PerHour(long at)
    {
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        long first = long.MaxValue, last = long.MinValue;
        foreach (var b in Buckets)
        {
            if ((long)b[0] + BucketMs <= at - WindowMs || (long)b[6] > at)
            {
                continue;
            }
            // Shift the bucket's x origin to `at` so that every bucket shares one origin and the sums stay small.
            var c = ((long)b[0] - at) / MsPerHour;
            n += b[1];
            sx += b[2] + b[1] * c;
            sy += b[3];
            sxx += b[4] + 2 * c * b[2] + b[1] * c * c;
            sxy += b[5] + c * b[3];
            first = Math.Min(first, (long)b[6]);
            last = Math.Max(last, (long)b[7]);
        }
        if (n < 2 || last - first < WindowMs / 2)
        {
            return null;
        }
        var d = n * sxx - sx * sx;
        return d <= 0 ? null : (n * sxy - sx * sy) / d;
    }
}
