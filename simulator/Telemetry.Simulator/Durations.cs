using System.Globalization;

namespace Telemetry.Simulator;

/// <summary>Durations as people write them on command lines and in scenarios: <c>90s</c>, <c>10m</c>, <c>8h</c>, <c>2d</c>, <c>500ms</c>.</summary>
internal static class Durations
{
    /// <summary>Parses a duration, optionally signed (<c>-5m</c>, a clock running behind).</summary>
    public static bool TryParse(string? text, out TimeSpan value, bool allowNegative = false)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim();
        var sign = 1;
        if (s[0] is '+' or '-')
        {
            if (!allowNegative && s[0] == '-')
            {
                return false;
            }
            sign = s[0] == '-' ? -1 : 1;
            s = s[1..];
        }
        var unitStart = 0;
        while (unitStart < s.Length && (char.IsAsciiDigit(s[unitStart]) || s[unitStart] == '.'))
        {
            unitStart++;
        }
        if (unitStart == 0 || !double.TryParse(s.AsSpan(0, unitStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }
        double? ms = s[unitStart..] switch
        {
            "ms" => n,
            "s" => n * 1000,
            "m" => n * 60_000,
            "h" => n * 3_600_000,
            "d" => n * 86_400_000,
            _ => null,
        };
        if (ms is not { } m || m > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }
        value = TimeSpan.FromMilliseconds(sign * Math.Round(m));
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"'{text}' is not a duration (write 90s, 10m, 8h, 2d)");

    /// <summary>The shortest exact spelling: <c>90s</c>, <c>10m</c>, <c>1500ms</c>.</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        var sign = ms < 0 ? "-" : "";
        ms = Math.Abs(ms);
        return ms switch
        {
            0 => "0s",
            _ when ms % 86_400_000 == 0 => $"{sign}{ms / 86_400_000}d",
            _ when ms % 3_600_000 == 0 => $"{sign}{ms / 3_600_000}h",
            _ when ms % 60_000 == 0 => $"{sign}{ms / 60_000}m",
            _ when ms % 1000 == 0 => $"{sign}{ms / 1000}s",
            _ => $"{sign}{ms}ms",
        };
    }
}
