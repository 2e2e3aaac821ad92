using System.Threading.Channels;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>What became of an event handed to <see cref="AlertEventQueue.Enqueue"/>.</summary>
internal enum EnqueueOutcome
{
    /// <summary>Waiting at the end of the queue.</summary>
    Queued,

    /// <summary>Took the place of the same alert's event that was still waiting; that older event is given back.</summary>
    Superseded,

    /// <summary>Queued, but the queue was full: its oldest event was dropped and is given back.</summary>
    DroppedOldest,

    /// <summary>The queue is stopped; the event was not taken.</summary>
    Closed,
}

/// <summary>
/// One channel's waiting events, oldest first, bounded. While the channel keeps up, every event waits its turn. Once
/// more than <c>coalesceAfter</c> events wait, a channel that may coalesce (MQTT, webhooks, e-mail) keeps one waiting
/// event per alert: a new event takes the place of that alert's event still waiting. Whoever reads the channel then
/// still gets each alert's newest state, in order per alert, and an alert that changed once is never pushed out by one
/// that flaps. Only when the queue is full of different alerts is the oldest dropped.
/// <para>
/// An event replaces only one of its own kind: a repeat never replaces a transition (MQTT publishes nothing for a
/// repeat), and backlog history never replaces the current state or the other way round (MQTT retains only the latter).
/// </para>
/// </summary>
internal sealed class AlertEventQueue
{
    private readonly Lock _gate = new();
    private readonly AlertEvent?[] _ring;
    private readonly int _coalesceAfter;
    // How many events the channel may send now, when it is rate-bound: more waiting than that is behind too.
    private readonly Func<int>? _sendableNow;
    // Where each alert's newest waiting event sits (a sequence number; stale once below _head). Only when coalescing.
    private readonly Dictionary<string, long>? _newest;
    // A wake-up that holds at most one pending signal.
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });
    private long _head, _tail;
    private bool _closed;
    private readonly TaskCompletionSource _closedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Completed when the taker makes room in a full queue (or the queue closes); created by the first waiter.
    private TaskCompletionSource? _room;

    /// <param name="capacity">Events that may wait.</param>
    /// <param name="coalesceAfter">Waiting events from which a new event replaces its alert's waiting one; <c>null</c> never.</param>
    /// <param name="sendableNow">
    /// For a rate-bound channel (<see cref="EventRate"/>), how many events it may send now: once more wait, it coalesces
    /// too (with <paramref name="coalesceAfter"/> set).
    /// </param>
    public AlertEventQueue(int capacity, int? coalesceAfter, Func<int>? sendableNow = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new AlertEvent?[capacity];
        if (coalesceAfter is { } after)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(after, 0);
            _coalesceAfter = after;
            _newest = new Dictionary<string, long>(StringComparer.Ordinal);
            _sendableNow = sendableNow;
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return (int)(_tail - _head);
            }
        }
    }

    /// <summary>
    /// Completes at once while the queue has room (or is closed); when it is full, once the taker has taken events.
    /// </summary>
    public Task WhenRoomAsync()
    {
        lock (_gate)
        {
            if (_closed || _tail - _head < _ring.Length)
            {
                return Task.CompletedTask;
            }
            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _room.Task;
        }
    }

    /// <summary>Adds <paramref name="e"/>; <paramref name="lost"/> is the event that no longer waits because of it, if any.</summary>
    public EnqueueOutcome Enqueue(AlertEvent e, out AlertEvent? lost)
    {
        ArgumentNullException.ThrowIfNull(e);
        lost = null;
        var wake = false;
        EnqueueOutcome outcome;
        lock (_gate)
        {
            if (_closed)
            {
                return EnqueueOutcome.Closed;
            }
            var waiting = _tail - _head;
            if (_newest is not null && IsBehind(waiting) && _newest.TryGetValue(e.AlertId, out var seq) && seq >= _head)
            {
                ref var slot = ref _ring[seq % _ring.Length];
                if (SameKind(slot!, e))
                {
                    lost = slot;
                    slot = e;
                    return EnqueueOutcome.Superseded;
                }
            }
            outcome = EnqueueOutcome.Queued;
            if (waiting == _ring.Length)
            {
                lost = Take(_head);
                outcome = EnqueueOutcome.DroppedOldest;
            }
            _ring[_tail % _ring.Length] = e;
            _newest?[e.AlertId] = _tail;
            _tail++;
            wake = waiting == 0;
        }
        if (wake)
        {
            _signal.Writer.TryWrite(true);
        }
        return outcome;
    }

    /// <summary>
    /// Waits until events wait, then moves up to <paramref name="max"/> of them, oldest first, into
    /// <paramref name="group"/>. False once the queue is closed and empty.
    /// </summary>
    public async Task<bool> TakeAsync(List<AlertEvent> group, int max)
    {
        ArgumentNullException.ThrowIfNull(group);
        while (true)
        {
            TaskCompletionSource? room = null;
            var took = false;
            lock (_gate)
            {
                if (_tail == _head)
                {
                    if (_closed)
                    {
                        return false;
                    }
                }
                else
                {
                    while (group.Count < max && _tail > _head)
                    {
                        group.Add(Take(_head));
                    }
                    room = _room;
                    _room = null;
                    took = true;
                }
            }
            if (took)
            {
                room?.TrySetResult();
                return true;
            }
            // Signalled on every empty → non-empty change and on Close; a spare signal only costs one more look.
            await _signal.Reader.ReadAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Completes when the queue is closed.</summary>
    public Task Closed => _closedSignal.Task;

    /// <summary>Takes no more events; those waiting can still be taken.</summary>
    public void Close()
    {
        TaskCompletionSource? room;
        lock (_gate)
        {
            _closed = true;
            room = _room;
            _room = null;
        }
        _closedSignal.TrySetResult();
        room?.TrySetResult();
        _signal.Writer.TryWrite(true);
    }

    private bool IsBehind(long waiting) => waiting >= _coalesceAfter || (_sendableNow is not null && waiting >= _sendableNow());

    private AlertEvent Take(long seq)
    {
        ref var slot = ref _ring[seq % _ring.Length];
        var e = slot!;
        slot = null;
        _head = seq + 1;
        if (_newest is not null && _newest.TryGetValue(e.AlertId, out var newest) && newest == seq)
        {
            _newest.Remove(e.AlertId);
        }
        return e;
    }

    private static bool SameKind(AlertEvent waiting, AlertEvent next) =>
        !waiting.Repeat && !next.Repeat && waiting.Backlog == next.Backlog;
}
