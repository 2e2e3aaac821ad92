using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Publishing;

/// <summary>What <c>load</c> publishes.</summary>
/// <param name="Rate">Readings per second overall, or null for as fast as the broker acknowledges.</param>
internal sealed record LoadOptions(long Readings, int Sensors, double? Rate = null, string TopicRoot = Scenario.DefaultTopicRoot, int Seed = 1);

/// <summary>What <c>load</c> achieved: <see cref="Readings"/> acknowledged by the broker in <see cref="Elapsed"/>.</summary>
internal sealed record LoadResult(long Readings, TimeSpan Elapsed)
{
    public double PerSecond => Elapsed > TimeSpan.Zero ? Readings / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// The benchmark load of SPEC §11: N realistic single-reading messages spread over M sensors (kinds in turn),
/// stamped with the current time so the service accepts them all. Each connection owns a fixed share of the
/// sensors, so every sensor's readings stay in seq order.
/// </summary>
internal static class LoadGenerator
{
    private const int SensorsPerTunnel = 50;

    /// <summary>The sensors <c>load</c> uses: <c>{root}/load/tNN/{kind}/{kind}-NNNNN</c>.</summary>
    public static IReadOnlyList<SensorSpec> Sensors(int count)
    {
        var tunnels = new Dictionary<int, TunnelSpec>();
        var list = new List<SensorSpec>(count);
        for (var i = 0; i < count; i++)
        {
            var t = i / SensorsPerTunnel;
            if (!tunnels.TryGetValue(t, out var tunnel))
            {
                tunnel = new TunnelSpec("load", "t" + (t + 1).ToString("00", CultureInfo.InvariantCulture), 1000, [0, 1000], 12, 96, 700, 80);
                tunnels[t] = tunnel;
            }
            var kind = SensorKinds.All[i % SensorKinds.All.Count];
            var address = new SensorAddress("load", tunnel.Id, kind, $"{kind.Name()}-{i.ToString("00000", CultureInfo.InvariantCulture)}");
            list.Add(new SensorSpec(i, address, tunnel, 20 * (i % SensorsPerTunnel), TimeSpan.FromSeconds(10), StrainSpec.Default));
        }
        return list;
    }

    public static async Task<LoadResult> RunAsync(MqttPublisher publisher, LoadOptions options, TimeProvider time, Counter sent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Sensors, 1);
        var sensors = Sensors(options.Sensors);
        var started = time.GetTimestamp();
        var workers = Enumerable.Range(0, publisher.ConnectionCount)
            .Select(c => Task.Run(() => WorkerAsync(c, publisher, sensors, options, time, started, sent, ct), ct))
            .ToList();
        await Task.WhenAll(workers);
        await publisher.FlushAsync(ct);
        return new LoadResult(options.Readings, time.GetElapsedTime(started));
    }

    private static async Task WorkerAsync(int connection, MqttPublisher publisher, IReadOnlyList<SensorSpec> sensors, LoadOptions options,
        TimeProvider time, long started, Counter sent, CancellationToken ct)
    {
        var mine = sensors.Where(s => s.Index % publisher.ConnectionCount == connection)
            .Select(s => (Sensor: s, Topic: s.Address.Topic(options.TopicRoot),
                Model: new SensorModel(s, OutsideClimate.Default, new Random(Noise.Derive(options.Seed, "load/" + s.Address.Key)))))
            .ToList();
        var m = sensors.Count;
        // A point is measurement + tags + timestamp (SPEC §6): two readings of one sensor in the same millisecond
        // would be stored as one, so each sensor's timestamps strictly increase.
        var lastTs = new long[mine.Count];
        Array.Fill(lastTs, long.MinValue);
        // One writer per worker, reset per message: the payload array is the only allocation that must be fresh.
        var buffer = new ArrayBufferWriter<byte>(512);
        using var writer = new Utf8JsonWriter(buffer);
        for (long round = 0; ; round++)
        {
            for (var j = 0; j < mine.Count; j++)
            {
                var (sensor, topic, model) = mine[j];
                var i = (round * m) + sensor.Index;
                if (i >= options.Readings)
                {
                    return;
                }
                if (options.Rate is { } rate)
                {
                    var wait = TimeSpan.FromSeconds(i / rate) - time.GetElapsedTime(started);
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        await Task.Delay(wait, time, ct);
                    }
                }
                var now = Math.Max(time.GetUtcNow().ToUnixTimeMilliseconds(), lastTs[j] + 1);
                lastTs[j] = now;
                var reading = model.Sample(now, time.GetElapsedTime(started), []);
                reading.TimestampMs = now;
                reading.Seq = round;
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
                ReadingJson.Write(writer, sensor.Kind, reading);
                writer.Flush();
                await publisher.PublishAsync(topic, buffer.WrittenSpan.ToArray(), sensor.Index, ct);
                sent.Increment();
            }
        }
    }
}
