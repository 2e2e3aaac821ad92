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

    /// <summary>
    /// The first entry of <c>urls</c> (SPEC §9, semicolon-separated) that Kestrel could not bind, or null. Kestrel's own
    /// failure (a FormatException, an ArgumentOutOfRangeException from inside start-up) names neither the setting nor
    /// stops cleanly: the process aborted.
    /// </summary>
    public static string? InvalidUrl(string? urls)
    {
        foreach (var entry in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                var a = Microsoft.AspNetCore.Http.BindingAddress.Parse(entry);
                if (!a.IsUnixPipe && !a.IsNamedPipe && (a.Scheme is not ("http" or "https") || a.Port is < 0 or > 65535))
                {
                    return entry;
                }
            }
            catch (FormatException)
            {
                return entry;
            }
        }
        return null;
    }

    [GeneratedRegex("members: '([^']+)' with the error: '(.*)'\\.?$")]
    private static partial Regex DataAnnotationFailure();
}
