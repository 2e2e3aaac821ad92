using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Alerting.Api;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;

namespace Telemetry.Alerting;

public static class AlertingExtensions
{
    /// <summary>
    /// Alerting, wired: options and rules validated at start, the sensor registry (<see cref="SensorRegistry"/>), the
    /// alert service (<see cref="IAlertPipeline"/>, <see cref="IAlertService"/>, hosted) and its channels. MQTT and
    /// InfluxDB channels appear when the host registers an <see cref="Notifications.IMqttPublisher"/> /
    /// <see cref="Notifications.IAlertPointWriter"/>; any other <see cref="Notifications.IAlertChannel"/> registered is used too.
    /// </summary>
    public static IHostApplicationBuilder AddTelemetryAlerting(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<AlertingOptions>().BindConfiguration(AlertingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertingOptions>, AlertingOptionsValidator>();

        services.AddOptions<AlertRules>().Configure<IConfiguration>((o, configuration) =>
        {
            var loaded = AlertRules.Load(configuration);
            o.Rules = loaded.Rules;
            o.Errors = loaded.Errors;
        }).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertRules>, AlertRulesValidator>();

        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.Section);
        services.AddOptions<SensorRegistryHolder>()
            .Configure<IOptions<RegistryOptions>, IOptions<AlertRules>>((h, registry, rules) => h.Registry = SensorRegistry.Load(registry.Value, rules.Value))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SensorRegistryHolder>, SensorRegistryValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<SensorRegistryHolder>>().Value.Registry);

        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section);
        // No per-request log lines: a webhook URL often is the credential (Slack, Teams, Discord put the token in the
        // path), and four lines per delivery flood the log in an alert storm. Failures are logged by the channel.
        services.AddHttpClient(AlertService.HttpClientName).RemoveAllLoggers();
        services.AddSingleton<AlertMetrics>();
        services.AddSingleton<AlertService>();
        services.AddSingleton<IAlertPipeline>(sp => sp.GetRequiredService<AlertService>());
        services.AddSingleton<IAlertService>(sp => sp.GetRequiredService<AlertService>());
        services.AddHostedService(sp =>
        {
            if (string.IsNullOrEmpty(sp.GetRequiredService<IOptions<ApiOptions>>().Value.Key))
            {
                Log.NoApiKey(sp.GetRequiredService<ILoggerFactory>().CreateLogger<AlertService>());
            }
            return sp.GetRequiredService<AlertService>();
        });
        return builder;
    }
}
