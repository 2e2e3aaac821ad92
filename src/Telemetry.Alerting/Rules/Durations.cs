using System.Globalization;

namespace Telemetry.Alerting.Rules;

/// <summary>
/// Durations as operators write them (SPEC §7.2): <c>500ms</c>, <c>30s</c>, <c>15m</c>, <c>8h</c>, <c>2d</c>, or <c>hh:mm:ss</c>.
/// </summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim();
        var (unit, digits) = s.EndsWith("ms", StringComparison.OrdinalIgnoreCase)
            ? (1.0, s[..^2])
            : char.ToLowerInvariant(s[^1]) switch
            {
                's' => (1_000.0, s[..^1]),
                'm' => (60_000.0, s[..^1]),
                'h' => (3_600_000.0, s[..^1]),
                'd' => (86_400_000.0, s[..^1]),
                _ => (0.0, s),
            };
        if (unit > 0)
        {
            if (!double.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || !double.IsFinite(n)
                || Math.Round(n * unit) >= TimeSpan.MaxValue.TotalMilliseconds)
            {
                return false;
            }
            value = TimeSpan.FromMilliseconds(Math.Round(n * unit));
            return true;
        }
        // Only hh:mm:ss (optionally d. and .fff): TimeSpan alone reads "15" as 15 days and "15:00" as 15 hours.
        return s.Count(c => c == ':') == 2 && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }

    /// <summary>The shortest operator form: <c>15m</c>, <c>8h</c>, <c>90s</c>.</summary>
    public static string Format(TimeSpan value) => value switch
    {
        { TotalMilliseconds: 0 } => "0s",
        _ when value.Ticks % TimeSpan.TicksPerDay == 0 => $"{value.TotalDays:0}d",
        _ when value.Ticks % TimeSpan.TicksPerHour == 0 => $"{value.TotalHours:0}h",
        _ when value.Ticks % TimeSpan.TicksPerMinute == 0 => $"{value.TotalMinutes:0}m",
        _ when value.Ticks % TimeSpan.TicksPerSecond == 0 => $"{value.TotalSeconds:0}s",
        _ => $"{value.TotalMilliseconds:0}ms",
    };

    /// <summary>"15-minute", "8-hour": how a window reads in a message.</summary>
    public static string Adjective(TimeSpan value) => value switch
    {
        _ when value.Ticks % TimeSpan.TicksPerDay == 0 => $"{value.TotalDays:0}-day",
        _ when value.Ticks % TimeSpan.TicksPerHour == 0 => $"{value.TotalHours:0}-hour",
        _ when value.Ticks % TimeSpan.TicksPerMinute == 0 => $"{value.TotalMinutes:0}-minute",
        _ => $"{value.TotalSeconds:0.###}-second",
    };
}
