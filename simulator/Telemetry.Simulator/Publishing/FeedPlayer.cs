using Telemetry.Simulator.Generation;

namespace Telemetry.Simulator.Publishing;

/// <summary>Publishes a feed at its own pace (offsets divided by the speed) on a <see cref="TimeProvider"/>.</summary>
internal static class FeedPlayer
{
    /// <summary>
    /// Where to put the start of a feed of <paramref name="length"/> played at <paramref name="speed"/> so that no
    /// timestamp is ever ahead of the real clock: at speed 1 the feed starts now; faster, it starts in the past and
    /// its last reading is stamped when it is sent. Otherwise a fast run would stamp readings minutes or days in the
    /// future and the service would rightly reject them (future_timestamp, SPEC §4).
    /// </summary>
    public static DateTimeOffset VirtualStart(DateTimeOffset now, TimeSpan? length, double speed)
    {
        if (length is not { } l || speed <= 1)
        {
            return now;
        }
        var realLength = double.IsPositiveInfinity(speed) ? TimeSpan.Zero : l / speed;
        return now - l + realLength;
    }

    /// <param name="speed">How many times faster than recorded; <see cref="double.PositiveInfinity"/> for as fast as the broker takes it.</param>
    /// <returns>Messages published (acknowledged once <see cref="MqttPublisher.FlushAsync"/> returns).</returns>
    public static async Task<long> PlayAsync(IEnumerable<FeedMessage> feed, MqttPublisher publisher, double speed, TimeProvider time, Counter sent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(publisher);
        var origin = time.GetTimestamp();
        long count = 0;
        foreach (var m in feed)
        {
            if (!double.IsPositiveInfinity(speed))
            {
                var wait = TimeSpan.FromMilliseconds(m.OffsetMs / speed) - time.GetElapsedTime(origin);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, time, ct);
                }
            }
            await publisher.PublishAsync(m.Topic, m.Payload, ct);
            sent.Increment();
            count++;
        }
        await publisher.FlushAsync(ct);
        return count;
    }
}
