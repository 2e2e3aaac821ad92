using Telemetry.Testing;

namespace Telemetry.Ingestion.Tests;

public sealed partial class ConfigurationTests
{
    [Theory]
    [InlineData("Telemetry__Mqtt__Port", "abc", "Telemetry:Mqtt:Port")]
    [InlineData("Telemetry__Mqtt__Port", "70000", "Telemetry:Mqtt:Port")]
    [InlineData("Telemetry__Mqtt__TopicRoot", "a/b", "Telemetry:Mqtt:TopicRoot")]
    [InlineData("Telemetry__Mqtt__SessionExpiry", "soon", "Telemetry:Mqtt:SessionExpiry")]
    [InlineData("Telemetry__Influx__Url", "not a url", "Telemetry:Influx:Url")]
    [InlineData("Telemetry__Influx__ApiVersion", "3", "Telemetry:Influx:ApiVersion")]
    [InlineData("Telemetry__Influx__BatchLines", "0", "Telemetry:Influx:BatchLines")]
    [InlineData("Telemetry__Spool__MaxBytes", "10", "Telemetry:Spool:MaxBytes")]
    [InlineData("Telemetry__Ingestion__MaxPayloadBytes", "-1", "Telemetry:Ingestion:MaxPayloadBytes")]
    [InlineData("Telemetry__Ingestion__GroupCommitLinger", "00:00:02", "Telemetry:Ingestion:GroupCommitLinger")]
    [InlineData("Telemetry__Alerts__MqttEventsPerSecond", "-1", "Telemetry:Alerts:MqttEventsPerSecond")]
    [InlineData("Telemetry__Alerts__QueueCapacity", "8000", "Telemetry:Alerts:QueueCapacity (8000) must be at least Telemetry:Mqtt:ReceiveMaximum (8192)")]
    [InlineData("urls", "notaurl", "urls: 'notaurl'")]
    [InlineData("urls", "http://127.0.0.1:99999", "urls: 'http://127.0.0.1:99999'")]
    [InlineData("Telemetry__Registry__File", "/nonexistent/registry.yaml", "Telemetry:Registry:File: /nonexistent/registry.yaml: file not found")]
    [InlineData("Telemetry__Alerts__RulesFile", "/nonexistent/rules.yaml", "Telemetry:Alerts:RulesFile: /nonexistent/rules.yaml: file not found")]
    public async Task InvalidSetting_StopsStartUpWithAMessageNamingIt(string key, string value, string named)
    {
        await using var service = new IngestionService("127.0.0.1", FreePort.Next(), null, "unused", new Dictionary<string, string?> { [key] = value });
        service.Start();
        var code = await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains(named, service.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", service.Output, StringComparison.Ordinal);
    }

    // The URL is shown in logs and on the unauthenticated /health endpoint: a password in it would be shown too.
    [Fact]
    public async Task InfluxUrlWithCredentials_StopsStartUp_WithoutRepeatingThem()
    {
        await using var service = new IngestionService("127.0.0.1", FreePort.Next(), "http://admin:s3cr3t-pw@127.0.0.1:1", "unused");
        service.Start();
        Assert.Equal(2, await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Telemetry:Influx:Url: credentials belong in", service.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-pw", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InfluxV2WithoutToken_NamesEveryMissingSetting()
    {
        await using var service = new IngestionService("127.0.0.1", FreePort.Next(), "http://127.0.0.1:1", "unused",
            new Dictionary<string, string?> { ["Telemetry__Influx__ApiVersion"] = "2" });
        service.Start();
        Assert.Equal(2, await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Telemetry:Influx:Token", service.Output, StringComparison.Ordinal);
        Assert.Contains("Telemetry:Influx:Org", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartedFromAnotherDirectory_StillUsesTheSettingsShippedBesideIt()
    {
        // appsettings.json ships beside the binary; a service that a unit file or a script starts from elsewhere must
        // not fall back to the framework's defaults. Visible in its log: appsettings.json keeps ASP.NET Core's line per
        // HTTP request out (Microsoft.AspNetCore: Warning), which the framework's default level would write.
        using var elsewhere = new TempDir("elsewhere");
        await using var service = new IngestionService("127.0.0.1", FreePort.Next(), null, "unused", workingDirectory: elsewhere.Path);
        service.Start();
        await Poll.UntilAsync(() => ShippedLogFormat().IsMatch(service.Output), "a log line in the service's single-line format");
        await Poll.UntilAsync(async () => (await service.Http.GetAsync(new Uri($"http://127.0.0.1:{service.HttpPort}/health/live"))).IsSuccessStatusCode, "the liveness endpoint");
        service.Process.Signal(ServerProcess.SigTerm);
        Assert.Equal(0, await service.Process.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting.Diagnostics", service.Output, StringComparison.Ordinal);
        Assert.Contains("Microsoft.Hosting.Lifetime", service.Output, StringComparison.Ordinal);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn): \S+\[\d+\] \S")]
    private static partial System.Text.RegularExpressions.Regex ShippedLogFormat();
}
