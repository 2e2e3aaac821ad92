using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// One channel's own queue and task. Events that piled up while the channel was busy go out together
/// (<see cref="IAlertChannel.SendManyAsync"/>), so a burst costs the channel one round instead of one per event.
/// A channel more than one round behind that may coalesce (<see cref="IAlertChannel.CoalescesWhenBehind"/>) keeps
/// one waiting event per alert, its newest (<see cref="AlertEventQueue"/>); the events it replaced are counted as
/// <c>superseded</c>. When the queue is full all the same, a record (<see cref="IAlertChannel.WaitsWhenFull"/>) makes the
/// caller wait for room, bounded; otherwise, or once that wait runs out, the OLDEST event is dropped and counted as
/// <c>dropped</c>. A channel that confirms delivery later (MQTT's PUBACKs) is handed the next group as soon as it has
/// taken the previous one (<see cref="IAlertChannel.StartManyAsync"/>); each group is counted once confirmed.
/// <para>
/// A channel given an <see cref="EventRate"/> (MQTT) sends at most that many events per second after a burst: when it
/// may not send yet, it waits, and meanwhile it is behind (it coalesces as above).
/// </para>
/// </summary>
internal sealed class ChannelWorker
{
    private readonly AlertEventQueue _queue;
    private readonly IAlertChannel _channel;
    private readonly ILogger _logger;
    private readonly AlertMetrics _metrics;
    private readonly int _maxGroup;
    private readonly TimeSpan _fullWait;
    private readonly TimeProvider _time;
    private readonly EventRate? _rate;
    // Events a rate-bound channel waits for before it sends again: groups about ten times a second, not one event each.
    private readonly int _paced;
    // Set when the channel made no room within _fullWait; cleared once it has room again.
    private volatile bool _stuck;
    // Set by StopAsync: what waits goes out at once, whatever the rate bound (MQTT's retained states stay current).
    private volatile bool _stopping;
    private Task _task = Task.CompletedTask;
    private readonly LogThrottle _dropLog = new(TimeSpan.FromSeconds(10));
    private readonly LogThrottle _supersededLog = new(TimeSpan.FromSeconds(10));
    private readonly LogThrottle _waitLog = new(TimeSpan.FromSeconds(10));

    public ChannelWorker(IAlertChannel channel, int capacity, ILogger logger, AlertMetrics metrics, TimeSpan fullWait, TimeProvider time, EventRate? rate = null)
    {
        _channel = channel;
        _fullWait = fullWait;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _maxGroup = Math.Clamp(channel.MaxGroup, 1, capacity);
        _rate = channel.CoalescesWhenBehind ? rate : null;
        _paced = _rate is null ? 1 : Math.Clamp(_rate.PerSecond / 10, 1, Math.Min(_maxGroup, _rate.Burst));
        // "Behind" means more than one round waits, or more than the channel may send now.
        _queue = new AlertEventQueue(capacity, channel.CoalescesWhenBehind ? _maxGroup : null, _rate is null ? null : _rate.Available);
    }

    public IAlertChannel Channel => _channel;

    /// <summary>
    /// Queues <paramref name="e"/>. For a record whose queue is full this waits until the channel has taken events, at
    /// most the full-wait time: a record keeps every event through a burst, and a stuck one cannot hold alerting up
    /// for longer than that (it then drops, and is not waited for again until it takes events).
    /// </summary>
    public ValueTask EnqueueAsync(AlertEvent e)
    {
        // A full-wait of 0 means "drop at once" (as a channel that does not wait), not "stuck after waiting 0 ms".
        if (_channel.WaitsWhenFull && _fullWait > TimeSpan.Zero)
        {
            var room = _queue.WhenRoomAsync();
            if (!room.IsCompleted)
            {
                return WaitThenEnqueueAsync(e, room);
            }
            _stuck = false;
        }
        Enqueue(e);
        return ValueTask.CompletedTask;
    }

    private async ValueTask WaitThenEnqueueAsync(AlertEvent e, Task room)
    {
        if (!_stuck)
        {
            _metrics.FullWait(_channel.Name);
            if (_waitLog.TryEnter(Environment.TickCount64, out var waits))
            {
                Log.ChannelFullWait(_logger, _channel.Name, waits);
            }
            await room.WaitAsync(_fullWait, _time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!room.IsCompleted)
            {
                _stuck = true;
                Log.ChannelStuck(_logger, _channel.Name, _fullWait.TotalMilliseconds);
            }
        }
        Enqueue(e);
    }

    private void Enqueue(AlertEvent e)
    {
        switch (_queue.Enqueue(e, out var lost))
        {
            case EnqueueOutcome.Superseded:
                _metrics.Superseded(_channel.Name);
                // Said at most every 10 s with a count: one line per event would flood the log in a storm.
                if (_supersededLog.TryEnter(Environment.TickCount64, out var superseded))
                {
                    if (_rate is { } rate)
                    {
                        Log.ChannelCoalescingAtBound(_logger, _channel.Name, rate.PerSecond, superseded, lost!.AlertId);
                    }
                    else
                    {
                        Log.ChannelCoalescing(_logger, _channel.Name, superseded, lost!.AlertId);
                    }
                }
                break;
            case EnqueueOutcome.DroppedOldest:
                _metrics.ChannelDropped(_channel.Name);
                if (_dropLog.TryEnter(Environment.TickCount64, out var dropped))
                {
                    Log.ChannelQueueFull(_logger, _channel.Name, dropped, lost!.AlertId, lost.State);
                }
                break;
            case EnqueueOutcome.Closed:
                Log.ChannelStopped(_logger, _channel.Name, e.AlertId);
                break;
        }
    }

    public void Start(CancellationToken stopping) => _task = Task.Run(() => RunAsync(stopping), CancellationToken.None);

    /// <summary>Stops taking events and waits (bounded) for the queue to drain.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        _stopping = true;
        _queue.Close();
        await _task.WaitAsync(drain).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        // Groups handed over whose delivery is still being confirmed (MQTT: PUBACKs). The channel bounds how many.
        var confirming = new List<Task>();
        while (true)
        {
            var max = _maxGroup;
            if (_rate is not null && !_stopping)
            {
                var sendable = _rate.Available();
                if (sendable < 1)
                {
                    // About a tenth of a second, or until StopAsync, which lifts the bound.
                    await Task.WhenAny(Task.Delay(_rate.Until(_paced), _time, CancellationToken.None), _queue.Closed).ConfigureAwait(false);
                    continue;
                }
                max = Math.Min(max, sendable);
            }
            var group = new List<AlertEvent>(Math.Min(max, 64));
            if (!await _queue.TakeAsync(group, max).ConfigureAwait(false))
            {
                break;
            }
            _rate?.Spend(group.Count);
            var failures = new Exception?[group.Count];
            Task delivered;
            try
            {
                delivered = await _channel.StartManyAsync(group, failures, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Log.ChannelStopped(_logger, _channel.Name, group[0].AlertId);
                continue;
            }
            confirming.RemoveAll(t => t.IsCompleted);
            if (delivered.IsCompleted)
            {
                Account(delivered, group, failures, stopping);
            }
            else
            {
                confirming.Add(AccountAsync(delivered, group, failures, stopping));
            }
        }
        await Task.WhenAll(confirming).ConfigureAwait(false);
    }

    private async Task AccountAsync(Task delivered, List<AlertEvent> group, Exception?[] failures, CancellationToken stopping)
    {
        await delivered.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Account(delivered, group, failures, stopping);
    }

    private void Account(Task delivered, List<AlertEvent> group, Exception?[] failures, CancellationToken stopping)
    {
        if (delivered.IsFaulted || delivered.IsCanceled)
        {
            if (stopping.IsCancellationRequested)
            {
                Log.ChannelStopped(_logger, _channel.Name, group[0].AlertId);
                return;
            }
            // A channel reports per event; a whole group failing at once is counted against each of its events.
            var error = delivered.Exception?.GetBaseException() ?? new OperationCanceledException();
            for (var i = 0; i < failures.Length; i++)
            {
                failures[i] ??= error;
            }
        }
        for (var i = 0; i < group.Count; i++)
        {
            switch (failures[i])
            {
                case null:
                    _metrics.Delivered(_channel.Name);
                    break;
                case OperationCanceledException when stopping.IsCancellationRequested:
                    Log.ChannelStopped(_logger, _channel.Name, group[i].AlertId);
                    break;
                default:
                    // The channel already retried what was worth retrying; the event is counted and logged, the queue moves on.
                    _metrics.Failed(_channel.Name);
                    Log.ChannelFailed(_logger, failures[i]!, _channel.Name, group[i].AlertId, group[i].State);
                    break;
            }
        }
    }
}
