using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// One channel's own queue and task. When a channel falls so far behind that its queue is full, the OLDEST event is
/// dropped and counted: for a notification that is late by thousands of events, the newest state matters most.
/// Events that piled up while the channel was busy go out together (<see cref="IAlertChannel.SendManyAsync"/>), so
/// a burst costs the channel one round instead of one per event.
/// </summary>
internal sealed class ChannelWorker
{
    private readonly Channel<AlertEvent> _queue;
    private readonly IAlertChannel _channel;
    private readonly ILogger _logger;
    private readonly AlertMetrics _metrics;
    private const int MaxGroup = 512;
    private Task _task = Task.CompletedTask;
    private readonly LogThrottle _dropLog = new(TimeSpan.FromSeconds(10));

    public ChannelWorker(IAlertChannel channel, int capacity, ILogger logger, AlertMetrics metrics)
    {
        _channel = channel;
        _logger = logger;
        _metrics = metrics;
        _queue = System.Threading.Channels.Channel.CreateBounded<AlertEvent>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped =>
            {
                _metrics.ChannelDropped(channel.Name);
                // Said at most every 10 s with a count: one line per dropped event would flood the log in a storm.
                if (_dropLog.TryEnter(Environment.TickCount64, out var n))
                {
                    Log.ChannelQueueFull(_logger, channel.Name, n, dropped.AlertId, dropped.State);
                }
            });
    }

    public IAlertChannel Channel => _channel;

    public void Enqueue(AlertEvent e) => _queue.Writer.TryWrite(e);

    public void Start(CancellationToken stopping) => _task = Task.Run(() => RunAsync(stopping), CancellationToken.None);

    /// <summary>Stops taking events and waits (bounded) for the queue to drain.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        _queue.Writer.TryComplete();
        await _task.WaitAsync(drain).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var reader = _queue.Reader;
        var inFlight = new Queue<(Task Send, List<AlertEvent> Group, Exception?[] Failures)>();
        while (true)
        {
            if (inFlight.Count > 0 && !reader.TryPeek(out _))
            {
                // Nothing more to send for now: settle what is in flight, so its outcomes are counted without waiting
                // for the next event.
                while (inFlight.Count > 0)
                {
                    await SettleAsync(inFlight.Dequeue(), stopping).ConfigureAwait(false);
                }
            }
            if (!await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                break;
            }
            var group = new List<AlertEvent>(Math.Min(MaxGroup, reader.CanCount ? Math.Max(reader.Count, 1) : MaxGroup));
            while (group.Count < MaxGroup && reader.TryRead(out var e))
            {
                group.Add(e);
            }
            if (group.Count == 0)
            {
                continue;
            }
            var failures = new Exception?[group.Count];
            inFlight.Enqueue((_channel.SendManyAsync(group, failures, stopping), group, failures));
            // A channel that overlaps groups (MQTT: each group waits for its slowest PUBACK) gets the next one going
            // while this one is out; the others send one group at a time.
            while (inFlight.Count >= Math.Max(1, _channel.GroupsInFlight) || (inFlight.Count > 0 && inFlight.Peek().Send.IsCompleted))
            {
                await SettleAsync(inFlight.Dequeue(), stopping).ConfigureAwait(false);
            }
        }
        while (inFlight.Count > 0)
        {
            await SettleAsync(inFlight.Dequeue(), stopping).ConfigureAwait(false);
        }
    }

    private async Task SettleAsync((Task Send, List<AlertEvent> Group, Exception?[] Failures) sent, CancellationToken stopping)
    {
        var (send, group, failures) = sent;
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Log.ChannelStopped(_logger, _channel.Name, group[0].AlertId);
            return;
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
