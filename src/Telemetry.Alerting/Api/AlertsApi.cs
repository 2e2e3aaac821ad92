using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Notifications;
using Telemetry.Alerting.State;

namespace Telemetry.Alerting.Api;

/// <summary>HTTP API options (<c>Telemetry:Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Telemetry:Api";

    /// <summary>
    /// The key mutating endpoints require in <c>X-Api-Key</c>. From the environment (<c>Telemetry__Api__Key</c>).
    /// Unset: those endpoints refuse everything (401) — acknowledging a gas alert must not be open to anyone.
    /// </summary>
    public string? Key { get; set; }
}

/// <summary>Body of <c>POST /api/alerts/{alert_id}/ack</c> and of MQTT <c>alerts/ack/{alert_id}</c>.</summary>
public sealed record AckRequest
{
    [JsonPropertyName("by")] public string? By { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
}

/// <summary>
/// The alerts API (SPEC §10): <c>GET /api/alerts</c>; <c>POST /api/alerts/{site}/{tunnel}/{sensor}/{rule}/ack</c>;
/// <c>GET|POST /api/silences</c>; <c>POST /api/silences/{id}/expire</c>; <c>DELETE /api/silences/{id}</c>.
/// </summary>
public static class AlertsApi
{
    public const string ApiKeyHeader = "X-Api-Key";

    public static IEndpointRouteBuilder MapTelemetryAlertsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.MapGroup("/api");
        api.MapGet("/alerts", (IAlertService alerts) => Results.Json(alerts.ActiveAlerts(), AlertJson.Options));

        // An alert id is site/tunnel/sensor/rule: four segments, each a validated topic segment, so no escaping is needed.
        api.MapPost("/alerts/{site}/{tunnel}/{sensor}/{rule}/ack", async (HttpContext http, string site, string tunnel, string sensor, string rule, IAlertService alerts) =>
        {
            if (!Authorized(http))
            {
                return Results.Unauthorized();
            }
            var body = await ReadAsync<AckRequest>(http);
            if (body?.By is not { } by || string.IsNullOrWhiteSpace(by))
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["by"] = ["who acknowledges is required: {\"by\": \"name\", \"note\": \"...\"}"] });
            }
            var id = $"{site}/{tunnel}/{sensor}/{rule}";
            AckResult result;
            try
            {
                result = await alerts.AcknowledgeAsync(id, by, body.Note, http.RequestAborted);
            }
            catch (IOException ex)
            {
                return NotSaved(ex);
            }
            return result switch
            {
                AckResult.NotFound => Results.NotFound(new { error = $"no active alert {id}" }),
                _ => Results.Json(alerts.ActiveAlerts().FirstOrDefault(a => a.AlertId == id), AlertJson.Options),
            };
        });

        api.MapGet("/silences", (IAlertService alerts) => Results.Json(alerts.Silences(), AlertJson.Options));

        api.MapPost("/silences", async (HttpContext http, IAlertService alerts, TimeProvider time) =>
        {
            if (!Authorized(http))
            {
                return Results.Unauthorized();
            }
            var body = await ReadAsync<SilenceRequest>(http);
            if (body is null)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["a JSON silence is required"] });
            }
            if (!body.TryCreate(time.GetUtcNow(), out var silence, out var errors))
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["silence"] = [.. errors] });
            }
            try
            {
                await alerts.AddSilenceAsync(silence, http.RequestAborted);
            }
            catch (IOException ex)
            {
                return NotSaved(ex);
            }
            return Results.Json(silence, AlertJson.Options, statusCode: StatusCodes.Status201Created);
        });

        api.MapPost("/silences/{id}/expire", async (HttpContext http, string id, IAlertService alerts) =>
        {
            if (!Authorized(http))
            {
                return Results.Unauthorized();
            }
            try
            {
                return await alerts.ExpireSilenceAsync(id, http.RequestAborted) is { } s ? Results.Json(s, AlertJson.Options) : Results.NotFound();
            }
            catch (IOException ex)
            {
                return NotSaved(ex);
            }
        });

        api.MapDelete("/silences/{id}", async (HttpContext http, string id, IAlertService alerts) =>
        {
            if (!Authorized(http))
            {
                return Results.Unauthorized();
            }
            try
            {
                return await alerts.DeleteSilenceAsync(id, http.RequestAborted) ? Results.NoContent() : Results.NotFound();
            }
            catch (IOException ex)
            {
                return NotSaved(ex);
            }
        });
        return endpoints;
    }

    // Not on disk, so not done: the caller must know, and try again (SPEC §8).
    private static IResult NotSaved(IOException ex) => Results.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable);

    private static bool Authorized(HttpContext http)
    {
        var key = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.Key;
        if (string.IsNullOrEmpty(key) || !http.Request.Headers.TryGetValue(ApiKeyHeader, out var given) || given.Count != 1)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(given[0] ?? ""));
    }

    private static async Task<T?> ReadAsync<T>(HttpContext http) where T : class
    {
        try
        {
            return await http.Request.ReadFromJsonAsync<T>(http.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or BadHttpRequestException)
        {
            return null;
        }
    }
}
