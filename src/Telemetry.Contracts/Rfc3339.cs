namespace Telemetry.Contracts;

/// <summary>
/// A strict RFC 3339 date-time parser on UTF-8 bytes: <c>YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)</c>.
/// An offset is required (a local time without one is ambiguous); fractions beyond milliseconds are truncated.
/// </summary>
public static class Rfc3339
{
    public static bool TryParseUnixMs(ReadOnlySpan<byte> s, out long unixMs)
    {
        unixMs = 0;
        if (s.Length < 20 || s[4] != '-' || s[7] != '-' || (s[10] | 0x20) != 't' || s[13] != ':' || s[16] != ':')
        {
            return false;
        }
        if (!Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)
            || !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute) || !Digits(s, 17, 2, out var second))
        {
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }
        var i = 19;
        var fractionMs = 0;
        if (s[i] == '.')
        {
            i++;
            var start = i;
            while (i < s.Length && IsDigit(s[i]))
            {
                if (i - start < 3)
                {
                    fractionMs = (fractionMs * 10) + (s[i] - '0');
                }
                i++;
            }
            var digits = i - start;
            if (digits == 0)
            {
                return false;
            }
            for (var k = digits; k < 3; k++)
            {
                fractionMs *= 10;
            }
        }
        if (i >= s.Length)
        {
            return false;
        }
        int offsetMinutes;
        if ((s[i] | 0x20) == 'z')
        {
            offsetMinutes = 0;
            i++;
        }
        else if (s[i] is (byte)'+' or (byte)'-')
        {
            if (s.Length - i != 6 || s[i + 3] != ':' || !Digits(s, i + 1, 2, out var oh) || !Digits(s, i + 4, 2, out var om)
                || oh > 23 || om > 59)
            {
                return false;
            }
            offsetMinutes = ((oh * 60) + om) * (s[i] == '-' ? -1 : 1);
            i += 6;
        }
        else
        {
            return false;
        }
        if (i != s.Length)
        {
            return false;
        }
        var utc = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        unixMs = ((utc.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond) + fractionMs - (offsetMinutes * 60_000L);
        return true;
    }

    /// <summary>Formats Unix milliseconds as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</summary>
    public static string Format(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (var k = start; k < start + count; k++)
        {
            if (!IsDigit(s[k]))
            {
                return false;
            }
            value = (value * 10) + (s[k] - '0');
        }
        return true;
    }
}
