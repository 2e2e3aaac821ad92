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

    private const int Stride = 3;

    /// <summary>
    /// Buckets, flat: [start ms, ∫value·dt in value·ms, covered ms] per bucket. Flat and contiguous because a tick
    /// walks every window of every sensor; an array per bucket cost a cache miss per bucket.
    /// </summary>
    [JsonPropertyName("k"), JsonConverter(typeof(WindowBuckets))]
    public List<double> Buckets
    {
        get => _buckets;
        set
        {
            _buckets = value;
            _total = double.NaN;
        }
    }

    private List<double> _buckets = [];

    /// <summary>Σ ∫value·dt of every bucket; NaN until needed again after buckets went (once per bucket length).</summary>
    private double _total = double.NaN;

    [JsonIgnore] public int BucketCount => Buckets.Count / Stride;

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
    /// <remarks>
    /// A bucket's exposure is taken as evenly spread over its time up to the open sample (nothing is committed past it),
    /// so the bucket cut by the window's start costs at most one bucket's detail, and the newest bucket, still filling,
    /// counts whole: it used to be cut at <paramref name="at"/> as if it ran to the bucket's end, which put a steady
    /// exposure up to 0.4 % low.
    /// </remarks>
    public double Mean(long at, long maxHoldMs)
    {
        var start = at - WindowMs;
        var contentEnd = OpenMs ?? long.MaxValue;
        var k = Buckets;
        double sum;
        if (at >= contentEnd)
        {
            // Evaluating at or after the newest sample (every reading, every tick): all exposure but that of the
            // buckets that began before the window counts whole. Those are one or two, so this is not a walk of 60.
            sum = Total();
            for (var i = 0; i < k.Count && (long)k[i] < start; i += Stride)
            {
                sum -= k[i + 1] * Fraction(k, i, contentEnd, long.MinValue, start);
            }
        }
        else
        {
            sum = 0;
            for (var i = 0; i < k.Count; i += Stride)
            {
                sum += k[i + 1] * Fraction(k, i, contentEnd, start, at);
            }
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

    /// <summary>The share of bucket <paramref name="i"/>'s exposure inside (from, to]: evenly spread up to contentEnd.</summary>
    private double Fraction(List<double> k, int i, long contentEnd, long from, long to)
    {
        var bStart = (long)k[i];
        var spanEnd = Math.Min(bStart + BucketMs, contentEnd);
        var span = spanEnd - bStart;
        var overlap = Math.Min(spanEnd, to) - Math.Max(bStart, from);
        return span <= 0 || overlap <= 0 ? 0 : Math.Min(1.0, (double)overlap / span);
    }

    private double Total()
    {
        if (double.IsNaN(_total))
        {
            double total = 0;
            for (var i = 1; i < Buckets.Count; i += Stride)
            {
                total += Buckets[i];
            }
            _total = total;
        }
        return _total;
    }

    private void Commit(long from, long to, double value)
    {
        while (from < to)
        {
            var bStart = from - Mod(from, BucketMs);
            var end = Math.Min(to, bStart + BucketMs);
            if (Buckets.Count == 0 || (long)Buckets[^Stride] != bStart)
            {
                Buckets.AddRange([bStart, 0, 0]);
            }
            var last = Buckets.Count - Stride;
            Buckets[last + 1] += value * (end - from);
            Buckets[last + 2] += end - from;
            _total += value * (end - from); // NaN stays NaN: summed afresh when next needed
            from = end;
        }
    }

    private void Prune(long at)
    {
        var drop = 0;
        while (drop < Buckets.Count && (long)Buckets[drop] + BucketMs <= at - WindowMs)
        {
            drop += Stride;
        }
        if (drop > 0)
        {
            Buckets.RemoveRange(0, drop);
            // Summed afresh rather than subtracted, so rounding never accumulates over months of samples.
            _total = double.NaN;
        }
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

    private const int Stride = 8;

    /// <summary>Buckets, flat: [start ms, n, Σx, Σy, Σx², Σxy, first ms, last ms] per bucket, x in hours from the bucket start.</summary>
    [JsonPropertyName("k"), JsonConverter(typeof(WindowBuckets))] public List<double> Buckets { get; set; } = [];

    public static RateWindow For(TimeSpan window)
    {
        var w = (long)window.TotalMilliseconds;
        return new RateWindow { WindowMs = w, BucketMs = Math.Max(1000, w / BucketsPerWindow) };
    }

    public void Add(long t, double value)
    {
        var bStart = t - AverageWindow.Mod(t, BucketMs);
        if (Buckets.Count == 0 || (long)Buckets[^Stride] != bStart)
        {
            Buckets.AddRange([bStart, 0, 0, 0, 0, 0, t, t]);
        }
        var b = Buckets.Count - Stride;
        var x = (t - bStart) / MsPerHour;
        Buckets[b + 1] += 1;
        Buckets[b + 2] += x;
        Buckets[b + 3] += value;
        Buckets[b + 4] += x * x;
        Buckets[b + 5] += x * value;
        Buckets[b + 7] = t;
        var drop = 0;
        while (drop < Buckets.Count && (long)Buckets[drop] + BucketMs <= t - WindowMs)
        {
            drop += Stride;
        }
        Buckets.RemoveRange(0, drop);
    }

    /// <summary>Units per hour over (at − window, at]; null while the samples span less than half the window.</summary>
    public double? PerHour(long at)
    {
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        long first = long.MaxValue, last = long.MinValue;
        var k = Buckets;
        for (var b = 0; b < k.Count; b += Stride)
        {
            if ((long)k[b] + BucketMs <= at - WindowMs || (long)k[b + 6] > at)
            {
                continue;
            }
            // Shift the bucket's x origin to `at` so that every bucket shares one origin and the sums stay small.
            var c = ((long)k[b] - at) / MsPerHour;
            n += k[b + 1];
            sx += k[b + 2] + k[b + 1] * c;
            sy += k[b + 3];
            sxx += k[b + 4] + 2 * c * k[b + 2] + k[b + 1] * c * c;
            sxy += k[b + 5] + c * k[b + 3];
            first = Math.Min(first, (long)k[b + 6]);
            last = Math.Max(last, (long)k[b + 7]);
        }
        if (n < 2 || last - first < WindowMs / 2)
        {
            return null;
        }
        var d = n * sxx - sx * sx;
        return d <= 0 ? null : (n * sxy - sx * sy) / d;
    }
}
