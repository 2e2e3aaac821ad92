using System.Text;

namespace Telemetry.Contracts;

/// <summary>Every numeric field the product knows, measured or derived. The values index <see cref="FieldValues"/>.</summary>
public enum Field : byte
{
    RhPct,
    TempC,
    DewPointC,
    Ch4LelPct,
    CoPpm,
    H2sPpm,
    O2Pct,
    Co2Ppm,
    No2Ppm,
    Microstrain,
    BatteryV,
    RssiDbm,
}

/// <summary>A field's wire name, unit and plausible range (SPEC §3).</summary>
public sealed record FieldSpec(Field Id, string Name, string Unit, double Min, double Max)
{
    internal byte[] Utf8Name { get; } = Encoding.UTF8.GetBytes(Name);

    public bool InRange(double value) => value >= Min && value <= Max;
}

/// <summary>
/// The field table of SPEC §3: which fields each kind may send, with units and plausibility ranges.
/// The single source of truth for the decoder, the storage schema, the simulator and the dashboards.
/// </summary>
public static class FieldCatalogue
{
    public const int FieldCount = 12;

    public static readonly FieldSpec RhPct = new(Field.RhPct, "rh_pct", "%", 0, 100);
    public static readonly FieldSpec TempC = new(Field.TempC, "temp_c", "°C", -40, 85);
    public static readonly FieldSpec DewPointC = new(Field.DewPointC, "dew_point_c", "°C", double.NegativeInfinity, double.PositiveInfinity);
    public static readonly FieldSpec Ch4LelPct = new(Field.Ch4LelPct, "ch4_lel_pct", "% LEL", 0, 100);
    public static readonly FieldSpec CoPpm = new(Field.CoPpm, "co_ppm", "ppm", 0, 1000);
    public static readonly FieldSpec H2sPpm = new(Field.H2sPpm, "h2s_ppm", "ppm", 0, 200);
    public static readonly FieldSpec O2Pct = new(Field.O2Pct, "o2_pct", "%", 0, 30);
    public static readonly FieldSpec Co2Ppm = new(Field.Co2Ppm, "co2_ppm", "ppm", 0, 50000);
    public static readonly FieldSpec No2Ppm = new(Field.No2Ppm, "no2_ppm", "ppm", 0, 50);
    public static readonly FieldSpec Microstrain = new(Field.Microstrain, "microstrain", "µε", -10000, 10000);
    public static readonly FieldSpec BatteryV = new(Field.BatteryV, "battery_v", "V", 0, 60);
    public static readonly FieldSpec RssiDbm = new(Field.RssiDbm, "rssi_dbm", "dBm", -150, 0);

    private static readonly FieldSpec[] ById =
        [RhPct, TempC, DewPointC, Ch4LelPct, CoPpm, H2sPpm, O2Pct, Co2Ppm, No2Ppm, Microstrain, BatteryV, RssiDbm];

    private static readonly FieldSpec[] Humidity = [RhPct, TempC];
    private static readonly FieldSpec[] Gas = [Ch4LelPct, CoPpm, H2sPpm, O2Pct, Co2Ppm, No2Ppm];
    private static readonly FieldSpec[] Strain = [Microstrain, TempC];

    /// <summary>Device-health members that sit beside <c>values</c> in every reading.</summary>
    public static IReadOnlyList<FieldSpec> DeviceHealth { get; } = [BatteryV, RssiDbm];

    public static FieldSpec Spec(this Field field) => ById[(int)field];

    /// <summary>The fields a sensor of this kind may send inside <c>values</c>.</summary>
    public static IReadOnlyList<FieldSpec> ValuesFor(SensorKind kind) => ValuesArray(kind);

    /// <summary>Every field stored for this kind: its values, derived fields and device health (SPEC §6).</summary>
    public static IReadOnlyList<FieldSpec> StoredFor(SensorKind kind) => kind switch
    {
        SensorKind.Humidity => [RhPct, TempC, DewPointC, BatteryV, RssiDbm],
        SensorKind.Gas => [.. Gas, BatteryV, RssiDbm],
        SensorKind.Strain => [Microstrain, TempC, BatteryV, RssiDbm],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryFind(SensorKind kind, string name, out FieldSpec spec)
    {
        foreach (var candidate in ValuesArray(kind))
        {
            if (candidate.Name == name)
            {
                spec = candidate;
                return true;
            }
        }
        spec = null!;
        return false;
    }

    internal static FieldSpec[] ValuesArray(SensorKind kind) => kind switch
    {
        SensorKind.Humidity => Humidity,
        SensorKind.Gas => Gas,
        SensorKind.Strain => Strain,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
