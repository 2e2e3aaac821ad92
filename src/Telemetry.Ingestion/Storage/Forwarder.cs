using Microsoft.Extensions.Options;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Spool;

namespace Telemetry.Ingestion.Storage;

/// <summary>
/// Sends the spool to InfluxDB in order, about <see cref="InfluxOptions.BatchLines"/> lines a request (a partial batch
/// at most every <see cref="InfluxOptions.FlushInterval"/>), and commits
/// (frees spool space) only after InfluxDB accepted them. With no URL it does nothing: store and forward. On shutdown
/// it keeps going until the spool is drained or <see cref="IngestionOptions.ShutdownTimeout"/> has passed.
/// </summary>
internal sealed class Forwarder(
    DurableSpool spool,
    IServiceProvider services,
    IOptions<InfluxOptions> influx,
    IOptions<IngestionOptions> ingestion,
    IngestMetrics metrics,
    TimeProvider time,
    ILogger<Forwarder> logger) : BackgroundService
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The writer in use, once InfluxDB is configured.</summary>
    public ResilientWriter? Writer { get; private set; }

    public bool IsConfigured => influx.Value.IsConfigured;

    /// <summary>True once the target was prepared (1.x: database exists).</summary>
    public bool Prepared => _ready.Task.IsCompleted;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!IsConfigured)
        {
            Log.StoreAndForward(logger, spool.PendingReadings);
            return;
        }
        var writer = services.GetRequiredService<IInfluxWriter>();
        Writer = services.GetRequiredService<ResilientWriter>();
        await PrepareAsync(writer, stoppingToken);
        Log.Forwarding(logger, writer.Describe);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var chunk = await spool.ReadAsync(influx.Value.BatchLines, stoppingToken);
                var started = time.GetTimestamp();
                var lines = chunk.SplitLines();
                var quarantined = await Writer.WriteAsync(lines, stoppingToken);
                metrics.ReadingsStored.Inc(chunk.Readings - quarantined);
                spool.Commit(chunk);
                if (chunk.Lines < influx.Value.BatchLines)
                {
                    // A partial batch: let the next one gather for the rest of the interval.
                    var left = influx.Value.FlushInterval - time.GetElapsedTime(started);
                    if (left > TimeSpan.Zero)
                    {
                        await Task.Delay(left, time, stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Never lose the chunk: it was not committed, so the next round reads it again. Whatever the writer or
                // its client library throws (InfluxDB.Client 5 once threw FormatException on a Retry-After date), one
                // surprise must not stop the host, and with it ingestion and alerting, while readings wait here.
                Log.ForwarderError(logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (IsConfigured && Prepared)
        {
            var timeout = ingestion.Value.ShutdownTimeout;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeout);
            try
            {
                while (!spool.IsDrained)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), time, cts.Token);
                }
                Log.Drained(logger);
            }
            catch (OperationCanceledException)
            {
                Log.NotDrained(logger, spool.PendingReadings, timeout);
            }
        }
        await base.StopAsync(cancellationToken);
    }

    private async Task PrepareAsync(IInfluxWriter writer, CancellationToken ct)
    {
        var delay = influx.Value.RetryMinDelay;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await writer.PrepareAsync(ct);
                _ready.TrySetResult();
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException && !ct.IsCancellationRequested)
            {
                Log.PrepareFailed(logger, writer.Describe, ex.Message, delay);
                await Task.Delay(delay, time, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, influx.Value.RetryMaxDelay.Ticks));
            }
        }
    }
}
