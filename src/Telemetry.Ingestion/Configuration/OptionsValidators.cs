using Microsoft.Extensions.Options;
using Telemetry.Alerting;
using Telemetry.Contracts;

namespace Telemetry.Ingestion.Configuration;

/// <summary>Cross-field rules of <c>Telemetry:Mqtt</c>; every failure names its setting.</summary>
internal sealed class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttOptions o)
    {
        var errors = new List<string>();
        if (!TopicPath.IsValidSegment(o.TopicRoot))
        {
            errors.Add($"{MqttOptions.Section}:TopicRoot: '{o.TopicRoot}' must be one topic segment matching ^[A-Za-z0-9_-]{{1,64}}$");
        }
        if (o.ReconnectMinDelay > o.ReconnectMaxDelay)
        {
            errors.Add($"{MqttOptions.Section}:ReconnectMinDelay must not exceed {MqttOptions.Section}:ReconnectMaxDelay");
        }
        if (o.UseEmbeddedBroker && !System.Net.IPAddress.TryParse(o.EmbeddedBindAddress, out _))
        {
            errors.Add($"{MqttOptions.Section}:EmbeddedBindAddress: '{o.EmbeddedBindAddress}' is not an IP address");
        }
        if (!string.IsNullOrEmpty(o.CaFile) && !File.Exists(o.CaFile))
        {
            errors.Add($"{MqttOptions.Section}:CaFile: '{o.CaFile}' does not exist");
        }
        if (o.Password.Length > 0 && o.Username.Length == 0)
        {
            errors.Add($"{MqttOptions.Section}:Username is required when {MqttOptions.Section}:Password is set");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Cross-field rules of <c>Telemetry:Influx</c>; every failure names its setting.</summary>
internal sealed class InfluxOptionsValidator : IValidateOptions<InfluxOptions>
{
    public ValidateOptionsResult Validate(string? name, InfluxOptions o)
    {
        var errors = new List<string>();
        var s = InfluxOptions.Section;
        if (o.IsConfigured && (!Uri.TryCreate(o.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"{s}:Url: '{o.Url}' is not an absolute http(s) URL");
        }
        else if (o.IsConfigured && Uri.TryCreate(o.Url, UriKind.Absolute, out var withUser) && withUser.UserInfo.Length > 0)
        {
            // The URL is shown in logs and on the unauthenticated health endpoint, and the writers do not log in with it.
            errors.Add($"{s}:Url: credentials belong in {s}:Username/Password (1.x) or {s}:Token (2.x), not in the URL (not repeated here)");
        }
        if (o.IsConfigured && o.ApiVersion == 2)
        {
            foreach (var (key, value) in new[] { ("Org", o.Org), ("Bucket", o.Bucket), ("Token", o.Token) })
            {
                if (string.IsNullOrWhiteSpace(value))
                {
                    errors.Add($"{s}:{key} is required when {s}:ApiVersion is 2 (InfluxDB 2.x/3.x); set {s}:ApiVersion=1 for InfluxDB 1.x");
                }
            }
        }
        if (o.IsConfigured && o.ApiVersion == 1 && string.IsNullOrWhiteSpace(o.Database))
        {
            errors.Add($"{s}:Database is required when {s}:ApiVersion is 1");
        }
        if (o.Password.Length > 0 && o.Username.Length == 0)
        {
            errors.Add($"{s}:Username is required when {s}:Password is set");
        }
        if (o.RetryMinDelay > o.RetryMaxDelay)
        {
            errors.Add($"{s}:RetryMinDelay must not exceed {s}:RetryMaxDelay");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class SpoolOptionsValidator : IValidateOptions<SpoolOptions>
{
    public ValidateOptionsResult Validate(string? name, SpoolOptions o) =>
        o.SegmentBytes * 2 > o.MaxBytes
            ? ValidateOptionsResult.Fail($"{SpoolOptions.Section}:MaxBytes ({o.MaxBytes}) must be at least twice {SpoolOptions.Section}:SegmentBytes ({o.SegmentBytes})")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// The alert queue must hold every message the broker may have sent unacknowledged: the ingestion acknowledges a
/// message only once it is evaluated, so a smaller queue would make it wait, and after <c>PostTimeout</c> skip a
/// message's evaluation, which is then acknowledged unevaluated.
/// </summary>
internal sealed class AlertQueueValidator(IOptions<MqttOptions> mqtt) : IValidateOptions<AlertingOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertingOptions o) =>
        o.QueueCapacity < mqtt.Value.ReceiveMaximum
            ? ValidateOptionsResult.Fail($"{AlertingOptions.Section}:QueueCapacity ({o.QueueCapacity}) must be at least {MqttOptions.Section}:ReceiveMaximum ({mqtt.Value.ReceiveMaximum}), the messages the broker may send unacknowledged")
            : ValidateOptionsResult.Success;
}
