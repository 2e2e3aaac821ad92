using Telemetry.Contracts;

namespace Telemetry.Simulator.Scenarios;

/// <summary>
/// A loaded, validated scenario: the fleet and its scripted incidents. Immutable; the generator derives all
/// randomness from a seed, so one scenario can produce many reproducible feeds.
/// </summary>
/// <param name="Name">Short name, for logs and file names.</param>
/// <param name="Source">The file it came from (or a label for in-memory scenarios).</param>
/// <param name="TopicRoot">First topic segment, <c>tunnels</c> unless the file or the command line says otherwise.</param>
/// <param name="Start">Where <c>record</c> puts the virtual clock, so recordings are reproducible.</param>
/// <param name="Outside">Weather at the portals, which the air near them follows.</param>
/// <param name="Tunnels">Every tunnel of every site.</param>
/// <param name="Sensors">Every sensor, in a stable order (site, tunnel, kind, chainage).</param>
/// <param name="Incidents">Scripted events, in file order.</param>
internal sealed record Scenario(
    string Name,
    string Source,
    string TopicRoot,
    DateTimeOffset Start,
    OutsideClimate Outside,
    IReadOnlyList<TunnelSpec> Tunnels,
    IReadOnlyList<SensorSpec> Sensors,
    IReadOnlyList<Incident> Incidents)
{
    public const string DefaultTopicRoot = "tunnels";

    /// <summary>A fixed default start keeps recordings byte-identical when neither the file nor the command line sets one.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);
}

/// <summary>The outside air: a daily cycle peaking mid-afternoon local time.</summary>
internal sealed record OutsideClimate(double TempC, double TempAmplitudeC, double RhPct, double RhAmplitudePct, double UtcOffsetHours)
{
    public static OutsideClimate Default { get; } = new(8, 6, 70, 20, 1);
}

/// <summary>One tunnel and the air deep inside it.</summary>
/// <param name="Portals">Chainages (m) of openings to the outside air; empty for a sealed gallery.</param>
/// <param name="PortalInfluenceM">Distance over which outside air still mixes in (e-folding length).</param>
internal sealed record TunnelSpec(
    string Site,
    string Id,
    double LengthM,
    IReadOnlyList<double> Portals,
    double DeepTempC,
    double DeepRhPct,
    double Co2Ppm,
    double PortalInfluenceM)
{
    /// <summary>How much of the outside air reaches chainage <paramref name="chainageM"/>: 1 at a portal, towards 0 deep inside.</summary>
    public double OutsideWeight(double chainageM)
    {
        if (Portals.Count == 0)
        {
            return 0;
        }
        var d = Portals.Min(p => Math.Abs(p - chainageM));
        return Math.Exp(-d / PortalInfluenceM);
    }
}

/// <summary>Strain-gauge parameters (vibrating-wire gauges read temperature as strain unless corrected).</summary>
/// <param name="Baseline">Fixed baseline µε, or null to draw one per gauge from <paramref name="BaselineMin"/>…<paramref name="BaselineMax"/>.</param>
/// <param name="TempCoefficient">Apparent strain per °C of gauge temperature, µε/°C.</param>
/// <param name="CreepPerDay">Steady creep of the lining, µε per day (0: none).</param>
internal sealed record StrainSpec(double? Baseline, double BaselineMin, double BaselineMax, double TempCoefficient, double CreepPerDay)
{
    public static StrainSpec Default { get; } = new(null, -400, 400, 3.0, 0);
}

/// <summary>One sensor of the fleet.</summary>
/// <param name="Index">Position in <see cref="Scenario.Sensors"/>; with the seed it derives the sensor's random stream.</param>
internal sealed record SensorSpec(int Index, SensorAddress Address, TunnelSpec Tunnel, double ChainageM, TimeSpan Interval, StrainSpec Strain)
{
    public SensorKind Kind => Address.Kind;

    public string Id => Address.Sensor;
}
