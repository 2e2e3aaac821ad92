using Telemetry.Contracts;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// Logs rejections without flooding (SPEC §10): the first of each reason in an interval is logged with its detail at
/// once; the rest are counted and summed up in one line per reason when the interval ends. Every rejection is still
/// a <c>rejected</c> row and a metric.
/// </summary>
internal sealed partial class RejectionLog(ILogger<RejectionLog> logger)
{
    private readonly object _gate = new();
    private readonly int[] _suppressed = new int[RejectionReasons.All.Count];
    private readonly bool[] _loggedThisInterval = new bool[RejectionReasons.All.Count];

    public void Note(RejectionReason reason, string topic, string field, string detail)
    {
        lock (_gate)
        {
            if (_loggedThisInterval[(int)reason])
            {
                _suppressed[(int)reason]++;
                return;
            }
            _loggedThisInterval[(int)reason] = true;
        }
        Rejected(logger, reason.Name(), topic, field, detail);
    }

    /// <summary>Ends the interval: one summary line per reason that had more than the one logged.</summary>
    public void EndInterval()
    {
        Span<int> counts = stackalloc int[_suppressed.Length];
        lock (_gate)
        {
            _suppressed.CopyTo(counts);
            Array.Clear(_suppressed);
            Array.Clear(_loggedThisInterval);
        }
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                MoreRejected(logger, counts[i], ((RejectionReason)i).Name());
            }
        }
    }

    [LoggerMessage(4001, LogLevel.Warning, "Rejected {Reason} on {Topic} (field '{Field}'): {Detail}")]
    private static partial void Rejected(ILogger logger, string reason, string topic, string field, string detail);

    [LoggerMessage(4002, LogLevel.Warning, "Rejected {Count} more messages or readings as {Reason} in the last interval (see the rejected measurement)")]
    private static partial void MoreRejected(ILogger logger, int count, string reason);
}
