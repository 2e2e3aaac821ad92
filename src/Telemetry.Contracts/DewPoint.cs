namespace Telemetry.Contracts;

/// <summary>Magnus dew point with the Sonntag constants of SPEC §3 (a = 17.62, b = 243.12 °C).</summary>
public static class DewPoint
{
    public const double A = 17.62;
    public const double B = 243.12;

    /// <summary>Dew point in °C, or null where it is undefined (RH of 0 has no dew point).</summary>
    public static double? Celsius(double relativeHumidityPct, double temperatureC)
    {
        if (!(relativeHumidityPct > 0) || double.IsNaN(temperatureC))
        {
            return null;
        }
        var gamma = Math.Log(relativeHumidityPct / 100.0) + (A * temperatureC / (B + temperatureC));
        var dew = B * gamma / (A - gamma);
        return double.IsFinite(dew) ? dew : null;
    }
}
