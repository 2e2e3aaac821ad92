namespace Telemetry.Alerting.Notifications;

/// <summary>
/// A channel's bound on events per second (a token bucket): up to <see cref="Burst"/> events at once, then
/// <see cref="PerSecond"/> sustained. The worker spends it as it takes events; the queue asks it how many may go now,
/// because a channel that may not send what waits is behind and keeps only each alert's newest event.
/// </summary>
internal sealed class EventRate
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly double _perTimestampTick;
    private double _tokens;
    private long _stamp;

    public EventRate(int perSecond, int burst, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        PerSecond = perSecond;
        Burst = burst;
        _time = time;
        _perTimestampTick = (double)perSecond / time.TimestampFrequency;
        _tokens = burst;
        _stamp = time.GetTimestamp();
    }

    public int PerSecond { get; }

    public int Burst { get; }

    /// <summary>Events that may go now.</summary>
    public int Available()
    {
        lock (_gate)
        {
            return (int)Refill();
        }
    }

    /// <summary>Takes <paramref name="events"/> from what may go (they were just handed to the channel).</summary>
    public void Spend(int events)
    {
        lock (_gate)
        {
            _tokens = Refill() - events;
        }
    }

    /// <summary>How long until <paramref name="events"/> may go.</summary>
    public TimeSpan Until(int events)
    {
        lock (_gate)
        {
            var missing = Math.Min(events, Burst) - Refill();
            return missing <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(missing / PerSecond);
        }
    }

    private double Refill()
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(Burst, _tokens + ((now - _stamp) * _perTimestampTick));
        _stamp = now;
        return _tokens;
    }
}
