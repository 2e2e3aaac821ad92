using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telemetry.Alerting.Api;
using Telemetry.Contracts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Api;

/// <summary>The lead's wiring in miniature: a real Kestrel host with AddTelemetryAlerting and the alerts API.</summary>
internal sealed class AlertHost : IAsyncDisposable
{
    public const string ApiKey = "test-key-123";

    private AlertHost(WebApplication app, int port)
    {
        App = app;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public WebApplication App { get; }
    public HttpClient Http { get; }
    public IAlertPipeline Pipeline => App.Services.GetRequiredService<IAlertPipeline>();
    public IAlertService Alerts => App.Services.GetRequiredService<IAlertService>();

    public static WebApplication Build(string stateFile, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, int? port = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port ?? FreePort.Next()}");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telemetry:Alerts:StateFile"] = stateFile,
            ["Telemetry:Alerts:TickInterval"] = "00:00:00.050",
            ["Telemetry:Api:Key"] = ApiKey,
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        builder.AddTelemetryAlerting();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapTelemetryAlertsApi();
        return app;
    }

    public static async Task<AlertHost> StartAsync(string stateFile, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var port = FreePort.Next();
        var app = Build(stateFile, settings, services, port);
        await app.StartAsync();
        return new AlertHost(app, port);
    }

    public static Reading Now(Field field, double value, TimeSpan? offset = null)
    {
        var r = new Reading { TimestampMs = (TimeProvider.System.GetUtcNow() + (offset ?? TimeSpan.Zero)).ToUnixTimeMilliseconds() };
        r.Set(field, value);
        return r;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
