using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Scenarios;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>
/// The simulator's shipped scenarios through the whole product: simulator → real mosquitto → the service as a
/// process → real InfluxDB (SPEC §11 with §5–7), at full speed on simulated time.
/// </summary>
public sealed class SimulatorEndToEndTests : IAsyncLifetime
{
    private InfluxServer _influx = null!;
    private MosquittoServer _broker = null!;
    private IngestionService _service = null!;
    private readonly string _db = InfluxServer.NewDatabaseName("sim");

    public async Task InitializeAsync()
    {
        _influx = await InfluxServer.SharedAsync();
        _broker = await MosquittoServer.SharedAsync();
        _service = new IngestionService(_broker.Host, _broker.Port, _influx.Url, _db);
        await _service.StartAndWaitReadyAsync();
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static string Scenario(string name) => Path.Combine(AppContext.BaseDirectory, "scenarios", name);

    /// <summary>Generates <paramref name="duration"/> of the scenario ending a minute ago, and publishes it as fast as the broker takes it.</summary>
    private async Task<List<FeedMessage>> PlayAsync(string scenario, TimeSpan duration)
    {
        var start = DateTimeOffset.FromUnixTimeMilliseconds(Feed.BaseMs()).AddHours(1) - duration - TimeSpan.FromMinutes(1);
        var feed = new FeedGenerator(ScenarioLoader.Load(Scenario(scenario)), 7, _service.TopicRoot).Generate(start, duration).ToList();
        await using var publisher = await MqttPublisher.ConnectAsync(new BrokerEndpoint(_broker.Host, _broker.Port), new PublisherOptions(), CancellationToken.None);
        await FeedPlayer.PlayAsync(feed, publisher, double.PositiveInfinity, TimeProvider.System, new Counter(), CancellationToken.None);
        return feed;
    }

    private static List<(SensorKind Kind, Reading Reading)> ValidReadings(IEnumerable<FeedMessage> feed)
    {
        var decoder = new PayloadDecoder(DecodeLimits.Default);
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        var result = new List<(SensorKind, Reading)>();
        foreach (var m in feed.Where(m => m.Expected is null))
        {
            Assert.True(TopicPath.TryParse(m.Topic, m.Topic.Split('/')[0], out var address, out _));
            var readings = new List<Reading>();
            decoder.Decode(m.Payload, address.Kind, now, readings, []);
            result.AddRange(readings.Select(r => (address.Kind, r)));
        }
        return result;
    }

    [Fact]
    public async Task BaselineFleet_ForFiveSimulatedMinutes_StoresExactlyEveryReading()
    {
        var feed = await PlayAsync("kukes-baseline.yaml", TimeSpan.FromMinutes(5));
        var readings = ValidReadings(feed);
        Assert.True(readings.Count > 500, $"the baseline fleet sends plenty ({readings.Count})");
        Assert.All(readings, r => Assert.NotNull(r.Reading.Seq));
        foreach (var kind in SensorKinds.All)
        {
            var expected = readings.Count(r => r.Kind == kind);
            await Poll.UntilAsync(async () => await _influx.CountAsync(_db, kind.Name(), Schema.FieldSeq) == expected,
                $"{expected} {kind.Name()} readings", TimeSpan.FromSeconds(60));
        }
        Assert.Equal(0, await _influx.CountAsync(_db, Schema.Rejected, Schema.RejectedDetail));
    }

    [Fact]
    public async Task MalformedPayloadsIncident_EndsInRejectedWithTheExpectedReasons()
    {
        var feed = await PlayAsync("malformed-payloads.yaml", TimeSpan.FromMinutes(2));
        var expected = feed.Where(m => m.Expected is not null).GroupBy(m => m.Expected!.Value.Name()).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(expected.Count >= 9, $"the incident covers the SPEC §5 kinds ({string.Join(", ", expected.Keys)})");
        var total = expected.Values.Sum();
        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM rejected"), r => r.Count >= total, $"{total} rejected rows", TimeSpan.FromSeconds(60));
        var actual = rows.GroupBy(r => r["reason"].GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key), actual.OrderBy(kv => kv.Key));
    }

    [Fact]
    public async Task MethaneLeak_RaisesEscalatesAndClearsCh4Lel_InThatOrder_OnlyInTheLeakSection()
    {
        var alerts = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
        await using var _ = alerts;
        await alerts.SubscribeAsync(_service.AlertsRoot + "/#");
        await PlayAsync("methane-leak.yaml", TimeSpan.FromMinutes(5));

        List<(string Sensor, string State)> Events() => alerts.Received
            .Where(m => m.Topic.EndsWith("/ch4-lel", StringComparison.Ordinal) && m.Payload.Length > 0)
            .Select(m => JsonDocument.Parse(m.Payload).RootElement)
            .Select(e => (e.GetProperty("sensor").GetString()!, e.GetProperty("state").GetString()!)).ToList();
        await Poll.UntilAsync(() => Events().Any(e => e.State == "cleared"), "ch4-lel cleared");
        var states = Events().Select(e => e.State).ToList();
        Assert.Equal("raised", states[0]);
        Assert.Equal("escalated", states[1]);
        Assert.Equal("cleared", states[^1]);
        Assert.All(states.Skip(2).SkipLast(1), s => Assert.Equal("deescalated", s));
        Assert.Single(Events().Select(e => e.Sensor).Distinct());
    }
}
