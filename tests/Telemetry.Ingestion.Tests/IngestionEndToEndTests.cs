using System.Globalization;
using System.Text;
using System.Text.Json;
using Telemetry.Contracts;
using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

/// <summary>SPEC §2–6 end to end: a real mosquitto, the service as a real process, a real InfluxDB 1.x.</summary>
public sealed class IngestionEndToEndTests : IAsyncLifetime
{
    private InfluxServer _influx = null!;
    private MosquittoServer _broker = null!;
    private IngestionService _service = null!;
    private MqttTestClient _sensor = null!;
    private readonly string _db = InfluxServer.NewDatabaseName("e2e");

    public async Task InitializeAsync()
    {
        _influx = await InfluxServer.SharedAsync();
        _broker = await MosquittoServer.SharedAsync();
        _service = new IngestionService(_broker.Host, _broker.Port, _influx.Url, _db);
        await _service.StartAndWaitReadyAsync();
        _sensor = await MqttTestClient.ConnectAsync(_broker.Host, _broker.Port);
    }

    public async Task DisposeAsync()
    {
        await _sensor.DisposeAsync();
        await _service.DisposeAsync();
    }

    private string Topic(string kind, string sensor, string site = "kukes", string tunnel = "t03") => $"{_service.TopicRoot}/{site}/{tunnel}/{kind}/{sensor}";

    private static string Iso(long ms) => Rfc3339.Format(ms);

    [Fact]
    public async Task ValidReadingOfEachKind_IsStoredWithExactValuesTagsAndMillisecondTime()
    {
        var t = Feed.BaseMs() + 123;
        await _sensor.PublishAsync(Topic("gas", "gas-0007"), $$$"""{"ts":"{{{Iso(t)}}}","seq":1842,"values":{"co_ppm":3,"o2_pct":20.9,"ch4_lel_pct":0.4,"h2s_ppm":0,"co2_ppm":612.5,"no2_ppm":0.02},"battery_v":3.61,"rssi_dbm":-87}""");
        await _sensor.PublishAsync(Topic("humidity", "hum-01", tunnel: "t01"), $$$"""{"ts":{{{t + 1}}},"values":{"rh_pct":92.5,"temp_c":12.25}}""");
        await _sensor.PublishAsync(Topic("strain", "sg_01", site: "other-site"), $$$"""{"ts":"{{{Rfc3339.Format(t + 2).Replace("Z", "+00:00", StringComparison.Ordinal)}}}","seq":0,"values":{"microstrain":-412.75,"temp_c":11}}""");

        var gas = Assert.Single(await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM gas"), r => r.Count == 1, "the gas reading"));
        Assert.Equal(t, gas["time"].GetInt64());
        Assert.Equal(("kukes", "t03", "gas-0007"), (gas["site"].GetString(), gas["tunnel"].GetString(), gas["sensor"].GetString()));
        Assert.Equal(3.0, gas["co_ppm"].GetDouble());
        Assert.Equal(20.9, gas["o2_pct"].GetDouble());
        Assert.Equal(0.4, gas["ch4_lel_pct"].GetDouble());
        Assert.Equal(0.0, gas["h2s_ppm"].GetDouble());
        Assert.Equal(612.5, gas["co2_ppm"].GetDouble());
        Assert.Equal(0.02, gas["no2_ppm"].GetDouble());
        Assert.Equal(3.61, gas["battery_v"].GetDouble());
        Assert.Equal(-87.0, gas["rssi_dbm"].GetDouble());
        Assert.Equal(1842, gas["seq"].GetInt64());

        var hum = Assert.Single(await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM humidity"), r => r.Count == 1, "the humidity reading"));
        Assert.Equal(t + 1, hum["time"].GetInt64());
        Assert.Equal("t01", hum["tunnel"].GetString());
        Assert.Equal(92.5, hum["rh_pct"].GetDouble());
        Assert.Equal(DewPoint.Celsius(92.5, 12.25)!.Value, hum["dew_point_c"].GetDouble(), 9);
        Assert.False(hum.ContainsKey("seq"));

        var strain = Assert.Single(await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM strain"), r => r.Count == 1, "the strain reading"));
        Assert.Equal(t + 2, strain["time"].GetInt64());
        Assert.Equal("other-site", strain["site"].GetString());
        Assert.Equal(-412.75, strain["microstrain"].GetDouble());

        // Numbers are floats even when sent as integers, seq is an integer: no field-type conflict can arise later.
        var types = await _influx.RowsAsync(_db, "SHOW FIELD KEYS FROM gas");
        var byName = types.ToDictionary(r => r["fieldKey"].GetString()!, r => r["fieldType"].GetString());
        Assert.Equal("float", byName["co_ppm"]);
        Assert.Equal("integer", byName["seq"]);
    }

    [Fact]
    public async Task OddButValidSensorIds_AreEscapedAndStoredAsTags()
    {
        var t = Feed.BaseMs();
        string[] ids = ["a-b_c", "0", "X_-_Y", new string('z', 64)];
        foreach (var id in ids)
        {
            await _sensor.PublishAsync(Topic("gas", id, site: "S-1", tunnel: "T_9"), $$$"""{"ts":{{{t}}},"values":{"co_ppm":1}}""");
        }
        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM gas GROUP BY sensor"), r => r.Count == ids.Length, "all sensors");
        Assert.Equal(ids.Order(), rows.Select(r => r["sensor"].GetString()!).Order());
    }

    public static TheoryData<string, string, string, string> BadInputs() => new()
    {
        // reason, topic suffix (after root), payload, expected field
        { "bad_topic", "/kukes/t03/gas", """{"values":{"co_ppm":1}}""", "" },
        { "bad_topic", "/kukes/t03/radon/r-1", """{"values":{"co_ppm":1}}""", "" },
        { "malformed_json", "/kukes/t03/gas/g-1", "{not json", "" },
        { "missing_values", "/kukes/t03/gas/g-1", """{"seq":1}""", "values" },
        { "unknown_field", "/kukes/t03/gas/g-1", """{"values":{"co_pmm":1}}""", "co_pmm" },
        { "invalid_value", "/kukes/t03/gas/g-1", """{"values":{"co_ppm":"high"}}""", "co_ppm" },
        { "invalid_timestamp", "/kukes/t03/gas/g-1", """{"ts":"yesterday","values":{"co_ppm":1}}""", "ts" },
        { "future_timestamp", "/kukes/t03/gas/g-1", """{"ts":"2099-01-01T00:00:00Z","values":{"co_ppm":1}}""", "ts" },
        { "too_old", "/kukes/t03/gas/g-1", """{"ts":"2001-01-01T00:00:00Z","values":{"co_ppm":1}}""", "ts" },
        { "out_of_range", "/kukes/t03/gas/g-1", """{"values":{"co_ppm":5000,"o2_pct":20.9}}""", "co_ppm" },
    };

    [Fact]
    public async Task EveryBadInput_IsQuarantinedWithReasonTopicFieldAndRawPayload()
    {
        var cases = BadInputs().Select(row => ((string)row[0], _service.TopicRoot + (string)row[1], (string)row[2], (string)row[3])).ToList();
        foreach (var (_, topic, payload, _) in cases)
        {
            await _sensor.PublishAsync(topic, payload);
        }
        var tooLarge = "[" + string.Join(',', Enumerable.Repeat("""{"values":{"co_ppm":1}}""", 12_000)) + "]";
        await _sensor.PublishAsync(Topic("gas", "g-2"), tooLarge);
        await _sensor.PublishAsync(Topic("gas", "g-3"), [0xff, 0xfe, 0x00, 0x01]);

        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM rejected"), r => r.Count >= cases.Count + 2, $"{cases.Count + 2} rejected rows");
        Assert.Equal(cases.Count + 2, rows.Count);
        foreach (var (reason, topic, payload, field) in cases)
        {
            var row = Assert.Single(rows, r => r["reason"].GetString() == reason && r["topic"].GetString() == topic && r["payload"].GetString() == payload);
            Assert.Equal(field, row["field"].GetString());
            Assert.StartsWith("test-", row["instance"].GetString(), StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(row["detail"].GetString()));
        }
        var large = Assert.Single(rows, r => r["reason"].GetString() == "payload_too_large");
        Assert.Equal(PointPayloadLength, Encoding.UTF8.GetByteCount(large["payload"].GetString()!));
        Assert.Single(rows, r => r["reason"].GetString() == "malformed_json" && r["topic"].GetString() == Topic("gas", "g-3"));

        // The good oxygen value beside the faulty CO cell was stored.
        var gas = Assert.Single(await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM gas"), r => r.Count == 1, "the o2 value"));
        Assert.Equal(20.9, gas["o2_pct"].GetDouble());
        Assert.False(gas.ContainsKey("co_ppm"));
        Assert.Equal(2, await _service.MetricAsync("telemetry_rejections_total{reason=\"bad_topic\"}"));
    }

    private const int PointPayloadLength = 1024;

    [Fact]
    public async Task GarbageFlood_LeavesTheServiceAliveAndEveryMessageAccountedFor()
    {
        var random = new Random(7);
        const int garbage = 1500;
        for (var i = 0; i < garbage; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            var topic = (i % 3) switch { 0 => Topic("gas", "g-1"), 1 => $"{_service.TopicRoot}/x/{i}", _ => Topic("strain", "s-1") };
            await _sensor.PublishAsync(topic, i % 5 == 0 ? Encoding.UTF8.GetBytes(new string('[', 5000)) : bytes);
        }
        var t = Feed.BaseMs();
        await _sensor.PublishAsync(Topic("gas", "after-flood"), $$$"""{"ts":{{{t}}},"values":{"co_ppm":4.5}}""");

        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM gas"), r => r.Count == 1, "the valid reading after the flood");
        Assert.Equal(4.5, rows[0]["co_ppm"].GetDouble());
        Assert.True(_service.Process.IsRunning);
        // Nothing dropped silently: one rejected row per garbage message (each is a whole-message rejection).
        await Poll.UntilAsync(async () => await _influx.CountAsync(_db, "rejected", "detail") == garbage, $"{garbage} rejected rows");
        Assert.True(await _service.MetricAsync("telemetry_messages_received_total") >= garbage + 1);
    }

    [Fact]
    public async Task PersistentSession_DeliversWhatWasPublishedWhileTheServiceWasStopped()
    {
        await _service.Process.StopAsync();
        Assert.Equal(0, _service.Process.ExitCode);
        var baseMs = Feed.BaseMs();
        await Feed.PublishGasAsync(_broker.Host, _broker.Port, _service.TopicRoot, 0, 300, 10, baseMs);

        _service.Renew();
        await _service.StartAndWaitReadyAsync();
        await Poll.UntilAsync(async () => await _influx.CountAsync(_db, "gas", "o2_pct") == 300, "the 300 readings queued by the broker");
    }

    [Fact]
    public async Task QoS0AndQoS1Readings_AreBothStored_AndOnlyTheQoS1OneIsAcknowledged()
    {
        // A sensor may publish at QoS 0: the broker then delivers at QoS 0, with no packet id and nothing to acknowledge.
        var t = Feed.BaseMs();
        await _sensor.PublishAsync(Topic("gas", "q0"), $$$"""{"ts":{{{t}}},"values":{"co_ppm":1}}""", qos: MQTTnet.Protocol.MqttQualityOfServiceLevel.AtMostOnce);
        await _sensor.PublishAsync(Topic("gas", "q1"), $$$"""{"ts":{{{t}}},"values":{"co_ppm":2}}""");

        var rows = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT sensor, co_ppm FROM gas"), r => r.Count == 2, "both readings");
        Assert.Equal(["q0", "q1"], rows.Select(r => r["sensor"].GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(2, await _service.MetricAsync("telemetry_messages_received_total"));
        Assert.Equal(0, await _service.MetricAsync("telemetry_mqtt_acks_dropped_total"));

        // The QoS 1 reading was acknowledged: a restart gets nothing redelivered.
        await _service.Process.StopAsync();
        _service.Renew();
        await _service.StartAndWaitReadyAsync();
        await _sensor.PublishAsync(Topic("gas", "q1"), $$$"""{"ts":{{{t + 1}}},"values":{"co_ppm":3}}""");
        await Poll.UntilAsync(async () => await _service.MetricAsync("telemetry_readings_stored_total") == 1, "the reading after the restart stored");
        Assert.Equal(1, await _service.MetricAsync("telemetry_messages_received_total"));
    }

    [Fact]
    public async Task HealthMetricsAndIngestStats_AreServed()
    {
        Assert.Contains("Healthy", await _service.GetAsync("/health/live"), StringComparison.Ordinal);
        var ready = await _service.GetAsync("/health/ready");
        Assert.Contains("\"mqtt\"", ready, StringComparison.Ordinal);
        Assert.Contains("\"influxdb\"", ready, StringComparison.Ordinal);
        await _sensor.PublishAsync(Topic("gas", "g-1"), $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"co_ppm":1}}""");
        await Poll.UntilAsync(async () => await _service.MetricAsync("telemetry_readings_stored_total") == 1, "readings_stored = 1 in /metrics");
        Assert.Equal(1, await _service.MetricAsync("telemetry_mqtt_connected"));
        var stats = await Poll.ForAsync(() => _influx.RowsAsync(_db, "SELECT * FROM ingest_stats"), r => r.Any(x => x[IngestStatsFields.ReadingsStored].GetDouble() >= 1), "an ingest_stats row counting the reading");
        var last = stats[^1];
        foreach (var field in new[] { IngestStatsFields.MessagesReceived, IngestStatsFields.SpoolReadings, IngestStatsFields.MqttConnected, IngestStatsFields.RejectedPrefix + "bad_topic", IngestStatsFields.WriteFailuresPrefix + "transient" })
        {
            Assert.True(last.ContainsKey(field), $"ingest_stats has {field}");
        }
    }
}
