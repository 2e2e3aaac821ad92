using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;

namespace Telemetry.Ingestion.Storage;

/// <summary>
/// Writes a batch so that every line ends up stored or quarantined (SPEC §8): transient failures are retried with
/// exponential backoff and jitter, honouring Retry-After; a batch refused as too large is split; a batch refused for
/// some of its points is bisected until the bad points are alone, and those are written to <c>rejected</c> as
/// <c>write_rejected</c>. One poison point never blocks the rest. 401/403 is logged as an error and retried slowly.
/// </summary>
internal sealed partial class ResilientWriter(
    IInfluxWriter writer,
    PointFactory points,
    IngestMetrics metrics,
    IOptions<InfluxOptions> options,
    TimeProvider time,
    ILogger<ResilientWriter> logger,
    Pipeline.RejectionLog rejectionLog)
{
    private readonly InfluxOptions _o = options.Value;
    private long _lastAuthLogTicks;

    /// <summary>True after a write succeeded, false after one failed: InfluxDB's reachability as last seen.</summary>
    public bool? LastWriteSucceeded { get; private set; }

    public string LastError { get; private set; } = "";

    /// <summary>Writes every line; returns how many reading lines were quarantined instead of stored.</summary>
    public async Task<int> WriteAsync(List<ReadOnlyMemory<byte>> lines, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return lines.Count == 0 ? 0 : await WriteRangeAsync(lines, ct);
    }

    private async Task<int> WriteRangeAsync(List<ReadOnlyMemory<byte>> lines, CancellationToken ct)
    {
        var outcome = await WriteWithRetriesAsync(lines, ct);
        switch (outcome.Status)
        {
            case WriteStatus.Ok:
                return 0;
            case WriteStatus.TooLarge or WriteStatus.Rejected when lines.Count > 1:
                metrics.WriteFailures.WithLabels(outcome.Status == WriteStatus.TooLarge ? "too_large" : "rejected").Inc();
                var half = lines.Count / 2;
                return await WriteRangeAsync(lines.GetRange(0, half), ct) + await WriteRangeAsync(lines.GetRange(half, lines.Count - half), ct);
            default:
                metrics.WriteFailures.WithLabels(outcome.Status == WriteStatus.TooLarge ? "too_large" : "rejected").Inc();
                await QuarantineAsync(lines[0], outcome.Detail, ct);
                return IsReading(lines[0].Span) ? 1 : 0;
        }
    }

    /// <summary>Retries transient and auth failures until success or a verdict about the points themselves.</summary>
    private async Task<WriteOutcome> WriteWithRetriesAsync(List<ReadOnlyMemory<byte>> lines, CancellationToken ct)
    {
        var attempt = 0;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var outcome = await writer.WriteAsync(lines, ct);
            // The response may complete on a socket engine's thread (SocketEngine), and the forwarder's follow-up stays
            // there on purpose: the spool's commit (an unlink, a rename, no fsync) and reading the next batch (from the
            // page cache) are short. Sent to the pool, it waited behind the storm's alert work there, and 1M storm
            // drains ran ~12 % slower (BENCHMARKS.md, fourteenth session).
            metrics.WriteLatency.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            LastWriteSucceeded = outcome.Status is WriteStatus.Ok or WriteStatus.Rejected or WriteStatus.TooLarge;
            if (outcome.Status is not (WriteStatus.Transient or WriteStatus.Auth))
            {
                return outcome;
            }
            LastError = outcome.Detail;
            TimeSpan delay;
            if (outcome.Status == WriteStatus.Auth)
            {
                metrics.WriteFailures.WithLabels("auth").Inc();
                var now = time.GetTimestamp();
                if (time.GetElapsedTime(Interlocked.Read(ref _lastAuthLogTicks), now) >= _o.AuthRetryDelay || _lastAuthLogTicks == 0)
                {
                    Interlocked.Exchange(ref _lastAuthLogTicks, now);
                    Log.AuthFailed(logger, writer.Describe, outcome.Detail, _o.AuthRetryDelay);
                }
                delay = _o.AuthRetryDelay;
            }
            else
            {
                metrics.WriteFailures.WithLabels("transient").Inc();
                delay = Backoff(attempt++, outcome.RetryAfter);
                if (attempt == 1 || attempt % 10 == 0)
                {
                    Log.Transient(logger, writer.Describe, outcome.Detail, attempt, delay);
                }
            }
            metrics.WriteRetries.Inc();
            await Task.Delay(delay, time, ct);
        }
    }

    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exp = _o.RetryMinDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        var capped = Math.Min(exp, _o.RetryMaxDelay.TotalMilliseconds);
        var jittered = TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
        // Retry-After is the server's word: never retry sooner than it asks.
        return retryAfter is { } ra && ra > jittered ? ra : jittered;
    }

    private async Task QuarantineAsync(ReadOnlyMemory<byte> line, string detail, CancellationToken ct)
    {
        var text = Encoding.UTF8.GetString(line.Span);
        var field = FieldInError().Match(detail) is { Success: true } m ? m.Groups[1].Value : "";
        var row = points.Rejected(RejectionReason.WriteRejected, "", field, detail.Trim(), line.Span);
        metrics.Rejected(RejectionReason.WriteRejected);
        var excerpt = text.Length > 300 ? text[..300] : text;
        // One line per reason per interval under a flood (SPEC §10), like every other rejection.
        rejectionLog.Note(RejectionReason.WriteRejected, "", field, $"{detail.Trim()}: {excerpt}");
        var outcome = await WriteWithRetriesAsync([Encoding.UTF8.GetBytes(row)], ct);
        if (outcome.Status != WriteStatus.Ok)
        {
            // Only a server that refuses even our own quarantine row gets here: the point itself goes in the log.
            Log.QuarantineRefused(logger, outcome.Detail, excerpt);
        }
    }

    private static bool IsReading(ReadOnlySpan<byte> line) =>
        line.StartsWith("gas,"u8) || line.StartsWith("humidity,"u8) || line.StartsWith("strain,"u8);

    [GeneratedRegex("field \"([^\"]+)\"")]
    private static partial Regex FieldInError();
}
