namespace Telemetry.Simulator.Scenarios;

/// <summary>A scripted event. <see cref="Line"/> is where it was written, for messages about it.</summary>
internal abstract record Incident(TimeSpan At, int Line)
{
    /// <summary>The scenario name of the incident type, e.g. <c>methane_leak</c>.</summary>
    public abstract string Type { get; }
}

/// <summary>Air-borne incidents: where they start and how they build up, spread and fade.</summary>
internal enum PlumeKind
{
    /// <summary>Methane rises in one section (ch4_lel_pct).</summary>
    MethaneLeak,

    /// <summary>Oxygen is consumed or displaced (o2_pct down, co2_ppm up).</summary>
    OxygenDepletion,

    /// <summary>A diesel engine running (co_ppm, co2_ppm, no2_ppm up).</summary>
    CoEngine,

    /// <summary>Water coming in (rh_pct to saturation, air slightly cooler).</summary>
    WaterIngress,
}

/// <summary>
/// Something released at one chainage that rises, holds and fades (smooth steps), reaching a sensor
/// <c>d</c> metres away later (<see cref="SpreadSpeedMps"/>) and weaker (factor <c>exp(-d / SpreadM)</c>).
/// </summary>
/// <param name="Magnitude">At the source, at full strength: %LEL of methane, % O2 removed, ppm CO, or the RH reached.</param>
internal sealed record PlumeIncident(
    PlumeKind Kind,
    TunnelSpec Tunnel,
    double ChainageM,
    TimeSpan At,
    TimeSpan Rise,
    TimeSpan Hold,
    TimeSpan Decay,
    double Magnitude,
    double SpreadM,
    double SpreadSpeedMps,
    int Line) : Incident(At, Line)
{
    public override string Type => Kind switch
    {
        PlumeKind.MethaneLeak => "methane_leak",
        PlumeKind.OxygenDepletion => "oxygen_depletion",
        PlumeKind.CoEngine => "co_engine",
        _ => "water_ingress",
    };

    /// <summary>Strength 0…1 at a sensor at <paramref name="chainageM"/> when the scenario clock reads <paramref name="offset"/>.</summary>
    public double Strength(double chainageM, TimeSpan offset)
    {
        var d = Math.Abs(chainageM - ChainageM);
        var local = offset - At - TimeSpan.FromSeconds(d / SpreadSpeedMps);
        return Envelope(local) * Math.Exp(-d / SpreadM);
    }

    public TimeSpan End => At + Rise + Hold + Decay;

    private double Envelope(TimeSpan t)
    {
        if (t <= TimeSpan.Zero)
        {
            return 0;
        }
        if (t < Rise)
        {
            return SmoothStep(t / Rise);
        }
        t -= Rise;
        if (t < Hold)
        {
            return 1;
        }
        t -= Hold;
        return t < Decay ? 1 - SmoothStep(t / Decay) : 0;
    }

    private static double SmoothStep(double x) => x * x * (3 - (2 * x));
}

/// <summary>Faults and events of single sensors.</summary>
internal enum SensorFaultKind
{
    /// <summary>Nothing arrives during the window (the counter keeps counting: the readings are lost).</summary>
    Dropout,

    /// <summary>The values freeze at what they were when the window opened.</summary>
    Stuck,

    /// <summary>Now and then one reading jumps by <see cref="SensorFault.Magnitude"/> in one field.</summary>
    Spikes,

    /// <summary>A logger loses its link for the window and then uploads everything it kept as one array.</summary>
    Backlog,

    /// <summary>The sensor's clock is off by <see cref="SensorFault.Skew"/>.</summary>
    ClockSkew,

    /// <summary>The lining creeps: <see cref="SensorFault.Magnitude"/> µε per day while the window is open, kept afterwards.</summary>
    StrainCreep,

    /// <summary>A crack opens: the strain steps by <see cref="SensorFault.Magnitude"/> µε at <see cref="Incident.At"/> and stays.</summary>
    StrainStep,
}

/// <param name="Sensors">Indexes into <see cref="Scenario.Sensors"/>.</param>
/// <param name="Duration">Window length; <see cref="TimeSpan.MaxValue"/> for "until the end".</param>
/// <param name="Field">For spikes: which field jumps.</param>
/// <param name="Probability">For spikes: chance that one reading in the window is a spike.</param>
internal sealed record SensorFault(
    SensorFaultKind Kind,
    IReadOnlyList<int> Sensors,
    TimeSpan At,
    TimeSpan Duration,
    double Magnitude,
    TimeSpan Skew,
    Contracts.Field? Field,
    double Probability,
    int Line) : Incident(At, Line)
{
    public override string Type => Kind switch
    {
        SensorFaultKind.Dropout => "dropout",
        SensorFaultKind.Stuck => "stuck",
        SensorFaultKind.Spikes => "spikes",
        SensorFaultKind.Backlog => "logger_backlog",
        SensorFaultKind.ClockSkew => "clock_skew",
        SensorFaultKind.StrainCreep => "strain_creep",
        _ => "strain_step",
    };

    public bool IsActive(TimeSpan offset) => offset >= At && (Duration == TimeSpan.MaxValue || offset < At + Duration);
}

/// <summary>
/// Payloads that break exactly one rule of SPEC §5 each, sent on the topic of <see cref="Sensor"/>:
/// one message per reason (two for malformed_json: broken text and non-UTF-8 bytes), <see cref="Every"/> apart,
/// the whole set <see cref="Repeat"/> times.
/// </summary>
internal sealed record MalformedIncident(int Sensor, TimeSpan At, TimeSpan Every, int Repeat, IReadOnlyList<Contracts.RejectionReason> Reasons, int Line)
    : Incident(At, Line)
{
    /// <summary>The reasons the simulator can provoke (unknown_sensor depends on the service's registry; write_rejected on InfluxDB).</summary>
    public static readonly IReadOnlyList<Contracts.RejectionReason> Supported =
    [
        Contracts.RejectionReason.BadTopic, Contracts.RejectionReason.MalformedJson, Contracts.RejectionReason.PayloadTooLarge,
        Contracts.RejectionReason.MissingValues, Contracts.RejectionReason.UnknownField, Contracts.RejectionReason.InvalidValue,
        Contracts.RejectionReason.InvalidTimestamp, Contracts.RejectionReason.FutureTimestamp, Contracts.RejectionReason.TooOld,
        Contracts.RejectionReason.OutOfRange,
    ];

    public override string Type => "malformed_payloads";
}
