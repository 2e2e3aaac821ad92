using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Telemetry.Alerting;

/// <summary>
/// Counters of the alert service, as a <see cref="Meter"/> named <c>Telemetry.Alerting</c> (for /metrics) and as
/// totals the ingestion service can copy into <c>ingest_stats</c>.
/// </summary>
public sealed class AlertMetrics : IDisposable
{
    public const string MeterName = "Telemetry.Alerting";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _events;
    private readonly Counter<long> _queueFull;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _channel;
    private readonly Counter<long> _fullWaits;
    // Keyed by the pair, not "channel/outcome": a key string per delivery was 30 MB per 15 s of an alert storm.
    private readonly ConcurrentDictionary<(string Channel, string Outcome), StrongBox<long>> _byChannel = new();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _waitsByChannel = new();
    private long _eventTotal, _queueFullTotal, _droppedTotal, _saveFailures;

    public AlertMetrics()
    {
        _events = _meter.CreateCounter<long>("alert_events", description: "alert events emitted by the engine");
        _queueFull = _meter.CreateCounter<long>("alert_queue_full", description: "posts that found the engine queue full and waited");
        _dropped = _meter.CreateCounter<long>("alert_queue_dropped", description: "posts dropped after waiting PostTimeout for room");
        _channel = _meter.CreateCounter<long>("alert_channel_outcomes", description: "channel deliveries by channel and outcome");
        _fullWaits = _meter.CreateCounter<long>("alert_channel_full_waits", description: "times alert evaluation waited for a record channel whose queue was full");
    }

    public long Events => Interlocked.Read(ref _eventTotal);
    public long QueueFull => Interlocked.Read(ref _queueFullTotal);
    public long Dropped => Interlocked.Read(ref _droppedTotal);
    public long SaveFailures => Interlocked.Read(ref _saveFailures);

    /// <summary>Count of one outcome (<c>delivered</c>, <c>superseded</c>, <c>dropped</c>, <c>failed</c>, <c>silenced</c>) of one channel.</summary>
    public long Channel(string channel, string outcome) =>
        _byChannel.TryGetValue((channel, outcome), out var n) ? Interlocked.Read(ref n.Value) : 0;

    /// <summary>Every (channel, outcome) counted so far, with its count.</summary>
    public IEnumerable<(string Channel, string Outcome, long Count)> ChannelOutcomes() =>
        _byChannel.Select(kv => (kv.Key.Channel, kv.Key.Outcome, Interlocked.Read(ref kv.Value.Value)));

    internal void Emitted(int n)
    {
        Interlocked.Add(ref _eventTotal, n);
        _events.Add(n);
    }

    internal void Full()
    {
        Interlocked.Increment(ref _queueFullTotal);
        _queueFull.Add(1);
    }

    internal void Drop()
    {
        Interlocked.Increment(ref _droppedTotal);
        _dropped.Add(1);
    }

    internal void SaveFailed() => Interlocked.Increment(ref _saveFailures);

    internal void Delivered(string channel) => Outcome(channel, "delivered");
    internal void Failed(string channel) => Outcome(channel, "failed");
    internal void ChannelDropped(string channel) => Outcome(channel, "dropped");
    internal void Superseded(string channel) => Outcome(channel, "superseded");
    internal void Silenced(string channel) => Outcome(channel, "silenced");

    internal void FullWait(string channel)
    {
        Interlocked.Increment(ref _waitsByChannel.GetOrAdd(channel, static _ => new StrongBox<long>()).Value);
        _fullWaits.Add(1, new KeyValuePair<string, object?>("channel", channel));
    }

    /// <summary>Per record channel, how often alert evaluation waited for it because its queue was full.</summary>
    public IEnumerable<(string Channel, long Count)> FullWaits() =>
        _waitsByChannel.Select(kv => (kv.Key, Interlocked.Read(ref kv.Value.Value)));

    private void Outcome(string channel, string outcome)
    {
        Interlocked.Increment(ref _byChannel.GetOrAdd((channel, outcome), static _ => new StrongBox<long>()).Value);
        _channel.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Dispose() => _meter.Dispose();
}
