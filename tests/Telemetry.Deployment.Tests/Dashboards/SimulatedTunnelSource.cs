using System.Globalization;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Scenarios;
using Telemetry.Testing;

namespace Telemetry.Deployment.Tests.Dashboards;

/// <summary>
/// The real path: the simulator's shipped scenarios (the baseline fleet, then each incident family in turn, on
/// simulated time, at full speed) → a real mosquitto → the ingestion service as a process → the real InfluxDB.
/// Readings, rejections, alerts and ingest_stats all come from the code that writes them in production, so a
/// renamed field breaks a dashboard query here.
/// </summary>
internal sealed class SimulatedTunnelSource : IDashboardDataSource
{
    /// <summary>Scenarios and how much simulated time of each, played one after another ending a minute ago.</summary>
    private static readonly (string File, TimeSpan Duration)[] Script =
    [
        ("kukes-baseline.yaml", TimeSpan.FromMinutes(20)),
        ("methane-leak.yaml", TimeSpan.FromMinutes(5)),
        ("co-engine.yaml", TimeSpan.FromMinutes(8)),
        ("oxygen-depletion.yaml", TimeSpan.FromMinutes(8)),
        ("water-ingress.yaml", TimeSpan.FromMinutes(16)),
        ("strain-crack.yaml", TimeSpan.FromMinutes(30)),
        ("sensor-faults.yaml", TimeSpan.FromMinutes(10)),
        ("malformed-payloads.yaml", TimeSpan.FromMinutes(2)),
    ];

    private const double PinnedLocalHour = 18;

    private static double NowHourOfDay() => TimeProvider.System.GetUtcNow().TimeOfDay.TotalHours;

    public async Task SeedAsync(InfluxServer server, string database)
    {
        var broker = await MosquittoServer.SharedAsync();
        await using var service = new IngestionService(broker.Host, broker.Port, server.Url, database, new Dictionary<string, string?>
        {
            // Demonstration scenarios are minutes long: shorten the two rules whose default timing needs hours of data
            // (rh-high holds for 30 min, strain-rate needs half of 6 h) so every kind has alerts to show.
            ["Telemetry__Alerts__Rules__rh-high__For"] = "1m",
            ["Telemetry__Alerts__Rules__strain-rate__Window"] = "20m",
            // Stale is judged on the service clock: after a full-speed replay the fleet goes quiet, so a short After
            // gives the silent-sensor panels real stale alerts.
            ["Telemetry__Alerts__Rules__sensor-stale__After"] = "5s",
        });
        await service.StartAndWaitReadyAsync();

        var total = Script.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);
        var start = TimeProvider.System.GetUtcNow() - total - TimeSpan.FromMinutes(1);
        long published = 0;
        await using (var publisher = await MqttPublisher.ConnectAsync(new BrokerEndpoint(broker.Host, broker.Port), new PublisherOptions(), CancellationToken.None))
        {
            foreach (var (file, duration) in Script)
            {
                var scenario = ScenarioLoader.Load(Path.Combine(AppContext.BaseDirectory, "scenarios", file));
                // Portal air follows the outside day, so which humidity alerts raise and clear depends on the hour:
                // pin the local time at the end of the seed to 18:00 so every run sees the same day, whenever CI runs.
                scenario = scenario with { Outside = scenario.Outside with { UtcOffsetHours = PinnedLocalHour - NowHourOfDay() } };
                var feed = new FeedGenerator(scenario, 11, service.TopicRoot).Generate(start, duration);
                published += await FeedPlayer.PlayAsync(feed, publisher, double.PositiveInfinity, TimeProvider.System, new Counter(), CancellationToken.None);
                start += duration;
            }
        }

        // Everything received, made durable and forwarded; then one more stats row so ingest_stats covers it.
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_messages_received_total") >= published, $"the service to receive {published} messages", TimeSpan.FromSeconds(120));
        await Poll.UntilAsync(async () => await service.MetricAsync("telemetry_spool_readings") == 0 && await server.CountAsync(database, "alerts", "value") > 0,
            "readings and alerts forwarded", TimeSpan.FromSeconds(120));
        await Poll.UntilAsync(async () => await server.CountAsync(database, "alerts", "value", "WHERE rule = 'sensor-stale'") > 0, "stale alerts", TimeSpan.FromSeconds(60));
        // Rate panels take derivatives over 10 s buckets: let ingest_stats span a few of them.
        await Poll.UntilAsync(async () => (await server.RowsAsync(database, "SELECT spread(messages_received) FROM ingest_stats")).Count > 0
            && (await server.RowsAsync(database, "SELECT count(messages_received) FROM ingest_stats")).First()["count"].GetInt64() >= 25,
            "25 s of ingest_stats", TimeSpan.FromSeconds(90));
        var stored = await service.MetricAsync("telemetry_readings_stored_total");
        await Poll.UntilAsync(async () => (await server.RowsAsync(database, $"SELECT max(readings_stored) FROM ingest_stats")).FirstOrDefault() is { } row
            && row["max"].GetDouble() >= stored, $"an ingest_stats row counting {stored.ToString(CultureInfo.InvariantCulture)} readings", TimeSpan.FromSeconds(60));
    }
}
