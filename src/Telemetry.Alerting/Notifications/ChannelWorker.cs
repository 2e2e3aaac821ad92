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
        var group = new List<AlertEvent>(MaxGroup);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < MaxGroup && reader.TryRead(out var e))
            {
                group.Add(e);
            }
            var failures = new Exception?[group.Count];
            try
            {
                await _channel.SendManyAsync(group, failures, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Log.ChannelStopped(_logger, _channel.Name, group[0].AlertId);
                continue;
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
}
