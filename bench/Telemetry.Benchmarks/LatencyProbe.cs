using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Telemetry.Benchmarks;

/// <summary>
/// Reading-published → stored-and-queryable latency at a fixed rate. Publishes gas readings at QoS 1 for sensors of
/// site <c>lat</c> with <c>ts</c> = the publish time, while polling <c>SELECT count(co_ppm) FROM gas WHERE site='lat'</c>
/// every poll interval. The service stores in arrival order (one consumer, spool forwarded in order), so reading
/// <c>i</c> is queryable at the first poll whose count exceeds <c>i</c>; latency = that poll's time − publish time.
/// The figure therefore includes up to one poll interval plus one query round trip of measurement granularity.
/// Alert latency: every tenth reading of each sensor moves methane across the red level and back (25 ↔ 4.2 % LEL),
/// so each sensor makes one <c>ch4-lel</c> transition a second (200 alert events/s among the 2,000 readings/s);
/// the probe subscribes to <c>alerts/lat/#</c> and matches each event to its reading by sensor and <c>ts</c>
/// (published → event received, no polling in between).
/// <code>latency --mqtt HOST:PORT --influx URL --db DB [--rate 2000] [--seconds 30] [--poll-ms 20] [--flip-every 10] [--stagger 1] [--warmup 0]</code>
/// Prints one JSON object. Every wait is bounded.
/// </summary>
internal static class LatencyProbe
{
    private const int Sensors = 200;

    public static async Task<int> RunAsync(string[] args)
    {
        var o = ParseArgs(args);
        var mqtt = o.GetValueOrDefault("--mqtt", "127.0.0.1:28830").Split(':');
        var influx = o.GetValueOrDefault("--influx", "http://127.0.0.1:28086");
        var db = o.GetValueOrDefault("--db", "tunnel_telemetry");
        var rate = int.Parse(o.GetValueOrDefault("--rate", "2000"), CultureInfo.InvariantCulture);
        var seconds = int.Parse(o.GetValueOrDefault("--seconds", "30"), CultureInfo.InvariantCulture);
        var pollMs = int.Parse(o.GetValueOrDefault("--poll-ms", "20"), CultureInfo.InvariantCulture);
        // Each sensor's methane crosses the red level every this many of its readings (10: one transition a second).
        var flipEvery = int.Parse(o.GetValueOrDefault("--flip-every", "10"), CultureInfo.InvariantCulture);
        // Stagger: sensors flip at different readings, so transitions are spread over time instead of 200 at once.
        var stagger = o.GetValueOrDefault("--stagger", "0") == "1";
        // The first seconds after the service starts include its JIT warm-up: also report percentiles without them.
        var warmup = int.Parse(o.GetValueOrDefault("--warmup", "0"), CultureInfo.InvariantCulture);
        var total = rate * seconds;
        var clock = TimeProvider.System;

        using var http = new HttpClient { BaseAddress = new Uri(influx), Timeout = TimeSpan.FromSeconds(10) };
        // Two connections: one publishes the readings, one receives the alerts. On one connection an alert waited behind
        // the publisher's acknowledgements in the client's receive loop, and the probe measured its own stalls (an
        // independent mosquitto_sub saw ≤ 0.2 s where the probe reported 1–2 s).
        using var client = new MqttClientFactory().CreateMqttClient();
        using var alertClient = new MqttClientFactory().CreateMqttClient();
        foreach (var (c, id) in new[] { (client, "pub"), (alertClient, "alerts") })
        {
            var connect = await c.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(mqtt[0], int.Parse(mqtt[1], CultureInfo.InvariantCulture))
                .WithClientId($"latency-probe-{id}-{Environment.ProcessId}").WithCleanStart(true).Build());
            if (connect.ResultCode != MqttClientConnectResultCode.Success)
            {
                await Console.Error.WriteLineAsync($"connect refused: {connect.ResultCode}");
                return 1;
            }
        }
        if (await CountAsync(http, db) != 0)
        {
            await Console.Error.WriteLineAsync("site 'lat' already has readings: reset the database first");
            return 1;
        }

        // Alert events: which reading (sensor/ts) was published when, and how long its event took to come back.
        var transitions = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var alertLatencies = new System.Collections.Concurrent.ConcurrentQueue<(long Sent, long Latency)>();
        alertClient.ApplicationMessageReceivedAsync += e =>
        {
            var received = clock.GetUtcNow().ToUnixTimeMilliseconds();
            var body = e.ApplicationMessage.Payload;
            if (body.IsEmpty)
            {
                return Task.CompletedTask;
            }
            using var ev = JsonDocument.Parse(body);
            var root = ev.RootElement;
            if (root.GetProperty("rule").GetString() == "ch4-lel" && !root.TryGetProperty("repeat", out _))
            {
                var key = root.GetProperty("sensor").GetString() + "/" + root.GetProperty("ts").GetDateTimeOffset().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                if (transitions.TryRemove(key, out var sent))
                {
                    alertLatencies.Enqueue((sent, received - sent));
                }
            }
            return Task.CompletedTask;
        };
        await alertClient.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("alerts/lat/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)).Build());

        var published = new long[total];
        var stored = new long[total];
        var tsOf = new long[total];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 120));
        var poller = PollAsync(http, db, total, pollMs, published, tsOf, stored, clock, cts.Token);

        // Paced in 5 ms ticks: each tick publishes what is due by then, every message with its own send time. Acks are
        // awaited only every 1,000 messages so a slow round trip does not hold the pace back.
        var lastTs = new long[Sensors];
        var perSensor = new int[Sensors];
        var transitionCount = 0;
        var pending = new List<Task>(1024);
        var sw = Stopwatch.StartNew();
        // The probe's own thread pool, sampled from a thread of its own: a starved pool delays the alert handler and
        // the probe would report that as the service's latency.
        var pool = new PoolSampler();
        var maxTickGapMs = 0L;
        var lastTick = sw.ElapsedMilliseconds;
        for (var i = 0; i < total && !cts.IsCancellationRequested;)
        {
            maxTickGapMs = Math.Max(maxTickGapMs, sw.ElapsedMilliseconds - lastTick);
            lastTick = sw.ElapsedMilliseconds;
            var due = Math.Min(total, (int)(sw.Elapsed.TotalSeconds * rate) + 1);
            for (; i < due; i++)
            {
                var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
                Volatile.Write(ref published[i], now);
                var sensor = i % Sensors;
                // A point's identity is measurement + tags + time: after a stall one tick may send a sensor twice in
                // the same millisecond, so keep each sensor's ts strictly increasing (stored points = published).
                var ts = lastTs[sensor] = Math.Max(now, lastTs[sensor] + 1);
                tsOf[i] = ts;
                var k = perSensor[sensor]++ + (stagger ? sensor % flipEvery : 0);
                var ch4 = (k / flipEvery) % 2 == 1 ? 25.0 : 4.2;
                if (k > 0 && k % flipEvery == 0)
                {
                    transitions[$"lat-{sensor:0000}/{ts}"] = now;
                    transitionCount++;
                }
                var payload = string.Create(CultureInfo.InvariantCulture,
                    $"{{\"ts\":{ts},\"values\":{{\"ch4_lel_pct\":{ch4},\"co_ppm\":{i % 100},\"o2_pct\":20.9}}}}");
                var message = new MqttApplicationMessageBuilder().WithTopic($"tunnels/lat/t01/gas/lat-{sensor:0000}")
                    .WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
                pending.Add(client.PublishAsync(message, cts.Token));
                if (pending.Count >= 1000)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }
            await Task.Delay(5, cts.Token);
        }
        await Task.WhenAll(pending);
        var publishSeconds = sw.Elapsed.TotalSeconds;
        pool.Stop();
        // Whatever is not queryable within 60 s of the last publish is reported missing.
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        await poller;
        await client.DisconnectAsync();
        await alertClient.DisconnectAsync();

        var lat = new List<long>(total);
        var latWarm = new List<long>(total);
        var warmFromMs = published[0] + (warmup * 1000L);
        var missing = 0;
        for (var i = 0; i < total; i++)
        {
            if (stored[i] == 0)
            {
                missing++;
            }
            else
            {
                lat.Add(stored[i] - published[i]);
                if (published[i] >= warmFromMs)
                {
                    latWarm.Add(stored[i] - published[i]);
                }
            }
        }
        lat.Sort();
        latWarm.Sort();
        static long Pct(List<long> sorted, double q) => sorted.Count == 0 ? -1 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
        long P(double q) => Pct(lat, q);
        var alerts = alertLatencies.Select(a => a.Latency).Order().ToList();
        var alertsWarm = alertLatencies.Where(a => a.Sent >= warmFromMs).Select(a => a.Latency).Order().ToList();
        // Where in the run the slow ones are: the max alert latency of each 2-second slice from the first publish.
        var maxBySlice = alertLatencies.GroupBy(a => (a.Sent - published[0]) / 2000).OrderBy(g => g.Key)
            .Select(g => g.Max(a => a.Latency)).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            rate_offered = rate,
            rate_achieved = Math.Round(total / publishSeconds),
            readings = total,
            stored = lat.Count,
            missing,
            poll_ms = pollMs,
            stored_p50_ms = P(0.50),
            stored_p99_ms = P(0.99),
            stored_max_ms = lat.Count == 0 ? -1 : lat[^1],
            alert_transitions = transitionCount,
            alert_events = alerts.Count,
            alert_missing = transitionCount - alerts.Count,
            alert_p50_ms = Pct(alerts, 0.50),
            alert_p99_ms = Pct(alerts, 0.99),
            alert_max_ms = alerts.Count == 0 ? -1 : alerts[^1],
            warmup_s = warmup,
            after_warmup_stored_p50_ms = Pct(latWarm, 0.50),
            after_warmup_stored_p99_ms = Pct(latWarm, 0.99),
            after_warmup_alert_events = alertsWarm.Count,
            after_warmup_alert_p50_ms = Pct(alertsWarm, 0.50),
            after_warmup_alert_p99_ms = Pct(alertsWarm, 0.99),
            after_warmup_alert_max_ms = alertsWarm.Count == 0 ? -1 : alertsWarm[^1],
            alert_max_ms_per_2s = maxBySlice,
            // The probe's own pauses: a slow alert may be the instrument's, not the service's.
            probe_gc_pause_ms = Math.Round(GC.GetTotalPauseDuration().TotalMilliseconds),
            probe_gen2_collections = GC.CollectionCount(2),
            probe_pool_threads_max = pool.MaxThreads,
            probe_pool_pending_max = pool.MaxPending,
            probe_pool_pending_max_at_s = Math.Round(pool.MaxPendingAtMs / 1000.0, 1),
            probe_max_tick_gap_ms = maxTickGapMs,
        }));
        return missing == 0 ? 0 : 3;
    }

    private static async Task PollAsync(HttpClient http, string db, int total, int pollMs, long[] published, long[] tsOf, long[] stored, TimeProvider clock, CancellationToken ct)
    {
        var known = 0;
        while (known < total && !ct.IsCancellationRequested)
        {
            long count;
            try
            {
                count = await StoredSoFarAsync(http, db, known, published, tsOf);
            }
            catch (HttpRequestException)
            {
                count = known;
            }
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            for (; known < Math.Min(count, total); known++)
            {
                stored[known] = now;
            }
            try
            {
                await Task.Delay(pollMs, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// How many readings are stored, counting in the database only those not yet known to be: counting all of them at
    /// every poll cost influxd more as the run went on (at 20 ms, most of a core by the end), on the cores the service
    /// and the broker share, and that showed in the alert latency (BENCHMARKS.md, seventh session).
    /// </summary>
    private static async Task<long> StoredSoFarAsync(HttpClient http, string db, int known, long[] published, long[] tsOf)
    {
        var from = Volatile.Read(ref published[known]);
        if (from == 0)
        {
            // Not published yet, so nothing past it can be stored (the service stores in arrival order).
            return known;
        }
        // Every later reading has ts ≥ its publish time ≥ from; earlier ones with ts ≥ from (the same millisecond, or a
        // sensor's ts nudged forward) are in the query's count too, and are taken out here.
        var earlier = 0;
        for (var i = known - 1; i >= 0 && published[i] > from - 1000; i--)
        {
            if (tsOf[i] >= from)
            {
                earlier++;
            }
        }
        return known - earlier + await CountAsync(http, db, from);
    }

    private static async Task<long> CountAsync(HttpClient http, string db, long? fromMs = null)
    {
        var since = fromMs is { } ms ? string.Create(CultureInfo.InvariantCulture, $" AND time >= {ms * 1_000_000}") : "";
        var q = Uri.EscapeDataString("SELECT count(co_ppm) FROM gas WHERE site='lat'" + since);
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"/query?db={Uri.EscapeDataString(db)}&q={q}"));
        var result = doc.RootElement.GetProperty("results")[0];
        if (!result.TryGetProperty("series", out var series))
        {
            return 0;
        }
        return series[0].GetProperty("values")[0][1].GetInt64();
    }

    /// <summary>Samples the thread pool every 10 ms on a dedicated thread until stopped.</summary>
    private sealed class PoolSampler
    {
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private readonly ManualResetEventSlim _stop = new();

        public PoolSampler()
        {
            new Thread(Run) { IsBackground = true, Name = "pool-sampler" }.Start();
        }

        public int MaxThreads { get; private set; }
        public long MaxPending { get; private set; }
        public long MaxPendingAtMs { get; private set; }

        public void Stop() => _stop.Set();

        private void Run()
        {
            do
            {
                MaxThreads = Math.Max(MaxThreads, ThreadPool.ThreadCount);
                var pending = ThreadPool.PendingWorkItemCount;
                if (pending > MaxPending)
                {
                    MaxPending = pending;
                    MaxPendingAtMs = _sw.ElapsedMilliseconds;
                }
            }
            while (!_stop.Wait(10));
        }
    }

    private static Dictionary<string, string> ParseArgs(string[] args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            d[args[i]] = args[i + 1];
        }
        return d;
    }
}
