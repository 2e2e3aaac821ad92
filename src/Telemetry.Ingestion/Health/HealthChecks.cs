using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Ingestion.Health;

/// <summary>Ready only while subscribed to the broker: without it no reading arrives.</summary>
internal sealed class MqttHealthCheck(MqttIngress ingress) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(ingress.IsSubscribed
            ? HealthCheckResult.Healthy($"subscribed on {ingress.Host}")
            : HealthCheckResult.Unhealthy($"not connected or not subscribed to the MQTT broker on {ingress.Host}"));
}

/// <summary>Unhealthy at the cap (acknowledging has stopped); otherwise reports what waits in it.</summary>
internal sealed class SpoolHealthCheck(DurableSpool spool) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["pending_readings"] = spool.PendingReadings, ["bytes"] = spool.TotalBytes };
        return Task.FromResult(spool.IsFull
            ? HealthCheckResult.Unhealthy("spool full (Telemetry:Spool:MaxBytes): acknowledging stopped, the broker holds new readings until InfluxDB takes the backlog", data: data)
            : HealthCheckResult.Healthy($"{spool.PendingReadings} readings waiting to be forwarded", data));
    }
}

/// <summary>
/// InfluxDB reachable, or not needed right now: while it is down the spool holds readings (SPEC §10: "InfluxDB
/// reachable or spool healthy"), so an outage is Degraded, not Unhealthy.
/// </summary>
internal sealed class InfluxHealthCheck(Forwarder forwarder, IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!forwarder.IsConfigured)
        {
            return HealthCheckResult.Healthy("no Telemetry:Influx:Url: store and forward, readings stay in the spool");
        }
        var writer = services.GetRequiredService<IInfluxWriter>();
        var lastWrite = forwarder.Writer?.LastWriteSucceeded;
        if (lastWrite == true || (lastWrite is null && forwarder.Prepared && await writer.PingAsync(cancellationToken)))
        {
            return HealthCheckResult.Healthy(writer.Describe);
        }
        return HealthCheckResult.Degraded($"{writer.Describe} unreachable ({forwarder.Writer?.LastError}); readings are spooled");
    }
}

internal static class HealthResponse
{
    /// <summary>A JSON body that says which check failed and why, not just a status word.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
