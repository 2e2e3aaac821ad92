using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Notifications;

/// <summary>
/// One channel's own queue and task. When a channel falls so far behind that its queue is full, the OLDEST event is
/// dropped and counted: for a notification that is late by thousands of events, the newest state matters most.
/// </summary>
internal sealed class ChannelWorker
{
    private readonly Channel<AlertEvent> _queue;
    private readonly IAlertChannel _channel;
    private readonly ILogger _logger;
    private readonly AlertMetrics _metrics;
    private Task _task = Task.CompletedTask;

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
                Log.ChannelQueueFull(_logger, channel.Name, dropped.AlertId, dropped.State);
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
        await foreach (var e in _queue.Reader.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                await _channel.SendAsync(e, stopping);
                _metrics.Delivered(_channel.Name);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Log.ChannelStopped(_logger, _channel.Name, e.AlertId);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The channel already retried what was worth retrying; the event is counted and logged, the queue moves on.
                _metrics.Failed(_channel.Name);
                Log.ChannelFailed(_logger, ex, _channel.Name, e.AlertId, e.State);
            }
        }
    }
}
