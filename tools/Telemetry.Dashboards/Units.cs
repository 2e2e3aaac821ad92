using Telemetry.Contracts;

namespace Telemetry.Dashboards;

/// <summary>How fields of the catalogue are shown: Grafana unit ids and titles people read.</summary>
internal static class Units
{
    /// <summary>The Grafana unit id for a catalogue unit; an unknown unit fails generation rather than showing a bare number.</summary>
    public static string Grafana(FieldSpec field) => field.Unit switch
    {
        "%" => "percent",
        "% LEL" => "suffix: % LEL",
        "°C" => "celsius",
        "ppm" => "ppm",
        "µε" => "suffix: µε",
        "V" => "volt",
        "dBm" => "dBm",
        _ => throw new InvalidOperationException($"no Grafana unit for {field.Name} in '{field.Unit}': add it to {nameof(Units)}"),
    };

    public static string Title(FieldSpec field) => field.Name switch
    {
        "rh_pct" => "Relative humidity",
        "temp_c" => "Temperature",
        "dew_point_c" => "Dew point",
        "ch4_lel_pct" => "Methane (CH₄, % LEL)",
        "co_ppm" => "Carbon monoxide (CO)",
        "h2s_ppm" => "Hydrogen sulphide (H₂S)",
        "o2_pct" => "Oxygen (O₂)",
        "co2_ppm" => "Carbon dioxide (CO₂)",
        "no2_ppm" => "Nitrogen dioxide (NO₂)",
        "microstrain" => "Lining strain",
        "battery_v" => "Battery",
        "rssi_dbm" => "Signal strength (RSSI)",
        _ => field.Name,
    };

    public static string Title(SensorKind kind) => kind switch
    {
        SensorKind.Humidity => "Humidity",
        SensorKind.Gas => "Gas",
        SensorKind.Strain => "Strain",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
