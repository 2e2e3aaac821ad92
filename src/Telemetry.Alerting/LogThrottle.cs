namespace Telemetry.Alerting;

/// <summary>
/// "Say it at most once per interval" for warnings that a storm would otherwise repeat thousands of times a second.
/// Counts the occurrences in between, so the line that is said can tell how many there were. Thread-safe.
/// </summary>
internal sealed class LogThrottle(TimeSpan interval)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private readonly Lock _gate = new();
    private long _lastMs;
    private long _pending;
    private bool _said;

    /// <summary>
    /// Records one occurrence at <paramref name="nowMs"/>; true when it is time to say it, with how many occurrences
    /// (this one included) there were since it was last said.
    /// </summary>
    public bool TryEnter(long nowMs, out long occurrences)
    {
        lock (_gate)
        {
            _pending++;
            if (_said && nowMs - _lastMs < _intervalMs)
            {
                occurrences = 0;
                return false;
            }
            _said = true;
            _lastMs = nowMs;
            occurrences = _pending;
            _pending = 0;
            return true;
        }
    }
}
