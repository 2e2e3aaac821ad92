using Telemetry.Alerting.Notifications;
using Telemetry.Contracts.Alerts;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Ingestion.Alerts;

/// <summary>
/// The InfluxDB alert channel: each event becomes an <c>alerts</c> point appended to the spool, so it is durable at
/// once and reaches InfluxDB in order with the readings, through the same retries, even after an outage.
/// The InfluxDB channel calls it from its one worker task, so the batch buffer is reused without locking.
/// </summary>
internal sealed class SpoolAlertWriter(DurableSpool spool, PointFactory points) : IAlertPointWriter
{
    private readonly SpoolBatch _batch = new(initialCapacity: 1024);

    public ValueTask WriteAsync(AlertEvent e, CancellationToken ct) => WriteManyAsync([e], ct);

    /// <summary>All of <paramref name="events"/> in one spool record: one fsync however many piled up.</summary>
    public async ValueTask WriteManyAsync(IReadOnlyList<AlertEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return;
        }
        _batch.Clear();
        foreach (var e in events)
        {
            points.AddAlert(_batch, e);
        }
        _batch.CreatedMs = events[0].Ts.ToUnixTimeMilliseconds();
        await spool.AppendAsync(_batch, ct);
    }
}
