using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Telemetry.Ingestion.Configuration;

/// <summary>Turns options failures into lines that name the setting, e.g. <c>Telemetry:Mqtt:Port: The field Port must be between 1 and 65535.</c></summary>
public static partial class ConfigurationErrors
{
    public static IEnumerable<string> Describe(OptionsValidationException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var section = exception.OptionsType.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string;
        foreach (var failure in exception.Failures)
        {
            var m = DataAnnotationFailure().Match(failure);
            yield return m.Success && section is not null ? $"{section}:{m.Groups[1].Value}: {m.Groups[2].Value}" : failure;
        }
    }

    [GeneratedRegex("members: '([^']+)' with the error: '(.*)'\\.?$")]
    private static partial Regex DataAnnotationFailure();
}
