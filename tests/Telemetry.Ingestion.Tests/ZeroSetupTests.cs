using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

public sealed class ZeroSetupTests
{
    [Fact]
    public async Task NoBrokerHost_StartsTheEmbeddedBrokerAndStoresWhatSensorsPublishToIt()
    {
        var influx = await InfluxServer.SharedAsync();
        var db = InfluxServer.NewDatabaseName("zero");
        var port = FreePort.Next();
        await using var service = new IngestionService(null, port, influx.Url, db);
        await service.StartAndWaitReadyAsync();
        Assert.Contains($"embedded MQTT broker on 127.0.0.1:{port}", service.Output, StringComparison.Ordinal);

        await using var sensor = await MqttTestClient.ConnectAsync("127.0.0.1", port);
        await sensor.PublishAsync($"{service.TopicRoot}/kukes/t01/humidity/h-1", $$$"""{"ts":{{{Feed.BaseMs()}}},"values":{"rh_pct":88,"temp_c":12}}""");
        await Poll.UntilAsync(async () => await influx.CountAsync(db, "humidity", "dew_point_c") == 1, "the reading via the embedded broker");
    }
}
