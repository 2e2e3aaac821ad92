namespace Telemetry.Contracts;

/// <summary>The three kinds of sensor of SPEC §1; the kind is the fourth topic segment and the measurement name.</summary>
public enum SensorKind : byte
{
    Humidity,
    Gas,
    Strain,
}

public static class SensorKinds
{
    public static readonly IReadOnlyList<SensorKind> All = [SensorKind.Humidity, SensorKind.Gas, SensorKind.Strain];

    /// <summary>The wire name: topic segment and InfluxDB measurement.</summary>
    public static string Name(this SensorKind kind) => kind switch
    {
        SensorKind.Humidity => "humidity",
        SensorKind.Gas => "gas",
        SensorKind.Strain => "strain",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParse(ReadOnlySpan<char> name, out SensorKind kind)
    {
        switch (name)
        {
            case "humidity": kind = SensorKind.Humidity; return true;
            case "gas": kind = SensorKind.Gas; return true;
            case "strain": kind = SensorKind.Strain; return true;
            default: kind = default; return false;
        }
    }
}
