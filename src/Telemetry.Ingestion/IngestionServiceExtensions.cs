using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Prometheus;
using Telemetry.Alerting;
using Telemetry.Alerting.Api;
using Telemetry.Alerting.Notifications;
using Telemetry.Ingestion.Alerts;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Health;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Pipeline;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Ingestion;

public static class IngestionServiceExtensions
{
    /// <summary>The ingestion pipeline: MQTT in, validation, the durable spool, forwarding to InfluxDB, metrics, health.</summary>
    public static WebApplicationBuilder AddTelemetryIngestion(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<MqttOptions>().BindConfiguration(MqttOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<InfluxOptions>().BindConfiguration(InfluxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SpoolOptions>().BindConfiguration(SpoolOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<IngestionOptions>().BindConfiguration(IngestionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>();
        services.AddSingleton<IValidateOptions<InfluxOptions>, InfluxOptionsValidator>();
        services.AddSingleton<IValidateOptions<SpoolOptions>, SpoolOptionsValidator>();
        services.AddSingleton<IValidateOptions<AlertingOptions>, AlertQueueValidator>();

        // Give the spool time to drain on SIGTERM before the host gives up on the services.
        var shutdown = builder.Configuration.GetValue($"{IngestionOptions.Section}:ShutdownTimeout", TimeSpan.FromSeconds(30));
        // Two bounded stages (drain the pipeline, then forward the spool), each at most ShutdownTimeout.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = (2 * shutdown) + TimeSpan.FromSeconds(15));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<IngestQueue>();
        services.AddSingleton<PointFactory>();
        services.AddSingleton<RejectionLog>();
        services.AddSingleton<DurableSpool>();
        services.AddSingleton<IInfluxWriter>(sp => sp.GetRequiredService<IOptions<InfluxOptions>>().Value.ApiVersion == 1
            ? ActivatorUtilities.CreateInstance<InfluxV1Writer>(sp)
            : ActivatorUtilities.CreateInstance<InfluxV2Writer>(sp));
        services.AddSingleton<ResilientWriter>();
        builder.AddTelemetryAlerting();
        services.AddSingleton<MqttPublisher>();
        services.AddSingleton<IMqttPublisher>(sp => sp.GetRequiredService<MqttPublisher>());
        services.AddSingleton<IAlertPointWriter, SpoolAlertWriter>();
        services.AddSingleton<AlertingObserver>();
        services.AddSingleton<IReadingObserver>(sp => sp.GetRequiredService<AlertingObserver>());
        services.AddSingleton(sp =>
        {
            var ingress = ActivatorUtilities.CreateInstance<MqttIngress>(sp);
            ingress.AddFilter(sp.GetRequiredService<AlertingObserver>().AckFilter);
            return ingress;
        });
        services.AddSingleton<IAcknowledger>(sp => sp.GetRequiredService<MqttIngress>());
        services.AddSingleton<IngestProcessor>();
        services.AddSingleton<Forwarder>();
        services.AddSingleton<StatsReporter>();

        // Start order matters and stop order is the reverse: the broker first, the forwarder before the processor
        // (so it is still forwarding while the processor drains), the ingress last (so it stops taking messages first).
        services.AddHostedService<EmbeddedBroker>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<Forwarder>());
        services.AddHostedService(sp => sp.GetRequiredService<StatsReporter>());
        services.AddHostedService(sp => sp.GetRequiredService<IngestProcessor>());
        services.AddHostedService(sp => sp.GetRequiredService<MqttIngress>());

        services.AddHealthChecks()
            .AddCheck<MqttHealthCheck>("mqtt", tags: ["ready"])
            .AddCheck<SpoolHealthCheck>("spool", tags: ["ready"])
            .AddCheck<InfluxHealthCheck>("influxdb", tags: ["ready"]);
        return builder;
    }

    /// <summary><c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c> (SPEC §10).</summary>
    public static WebApplication MapTelemetryEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync });
        app.MapHealthChecks("/health/ready", new()
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = HealthResponse.WriteAsync,
            ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status200OK },
        });
        var metrics = app.Services.GetRequiredService<IngestMetrics>();
        metrics.ExportChannelOutcomes(app.Services.GetRequiredService<Telemetry.Alerting.AlertMetrics>());
        app.MapMetrics("/metrics", metrics.Registry);
        app.MapTelemetryAlertsApi();
        return app;
    }
}
