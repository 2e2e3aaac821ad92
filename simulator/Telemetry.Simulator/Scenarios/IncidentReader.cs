using Telemetry.Contracts;

namespace Telemetry.Simulator.Scenarios;

/// <summary>Reads one <c>incidents:</c> entry. The keys each type takes are listed in docs/simulator.md.</summary>
internal static class IncidentReader
{
    private static readonly string[] Types =
    [
        "methane_leak", "oxygen_depletion", "co_engine", "water_ingress", "dropout", "stuck", "spikes",
        "logger_backlog", "clock_skew", "strain_creep", "strain_step", "malformed_payloads",
    ];

    public static Incident? Read(YamlMap m, SensorResolver resolver)
    {
        var type = m.String("type", required: true);
        var line = (int)m.Node.Start.Line;
        var at = m.Duration("at", TimeSpan.Zero);
        Incident? incident = type switch
        {
            "methane_leak" => Plume(m, PlumeKind.MethaneLeak, "peak_lel_pct", 35, 0, 100, resolver, at, line),
            "oxygen_depletion" => Plume(m, PlumeKind.OxygenDepletion, "min_o2_pct", 18.0, 5, 20.8, resolver, at, line),
            "co_engine" => Plume(m, PlumeKind.CoEngine, "peak_co_ppm", 60, 0, 1000, resolver, at, line),
            "water_ingress" => Plume(m, PlumeKind.WaterIngress, "peak_rh_pct", 100, 50, 100, resolver, at, line),
            "dropout" => Fault(m, SensorFaultKind.Dropout, resolver, at, line, []),
            "stuck" => Fault(m, SensorFaultKind.Stuck, resolver, at, line, []),
            "spikes" => Fault(m, SensorFaultKind.Spikes, resolver, at, line, []),
            "logger_backlog" => Fault(m, SensorFaultKind.Backlog, resolver, at, line, []),
            "clock_skew" => Fault(m, SensorFaultKind.ClockSkew, resolver, at, line, []),
            "strain_creep" => Fault(m, SensorFaultKind.StrainCreep, resolver, at, line, [SensorKind.Strain]),
            "strain_step" => Fault(m, SensorFaultKind.StrainStep, resolver, at, line, [SensorKind.Strain]),
            "malformed_payloads" => Malformed(m, resolver, at, line),
            null => null,
            _ => Unknown(m, type),
        };
        m.RejectUnknownKeys($"{type ?? "an"} incident");
        return incident;
    }

    private static Incident? Unknown(YamlMap m, string type)
    {
        m.Errors.Add(m.Raw("type")!, $"unknown incident type '{type}' (known: {string.Join(", ", Types)})");
        // Mark the rest as read so that one wrong type gives one error, not one per key.
        foreach (var key in ((YamlDotNet.RepresentationModel.YamlMappingNode)m.Node).Children.Keys)
        {
            m.Raw(key.ToString());
        }
        return null;
    }

    private static PlumeIncident? Plume(YamlMap m, PlumeKind kind, string magnitudeKey, double fallback, double min, double max,
        SensorResolver resolver, TimeSpan at, int line)
    {
        var tunnel = resolver.Tunnel(m);
        var chainage = m.Number("chainage_m", 0, 0, 100_000, required: true);
        if (tunnel is not null && chainage > tunnel.LengthM)
        {
            m.Errors.Add(m.Raw("chainage_m")!, $"chainage {chainage} m is beyond the end of tunnel '{tunnel.Id}' ({tunnel.LengthM} m)");
        }
        var rise = m.Duration("rise", TimeSpan.FromMinutes(2), allowZero: false);
        var hold = m.Duration("hold", TimeSpan.FromMinutes(1));
        var decay = m.Duration("decay", TimeSpan.FromMinutes(3), allowZero: false);
        var magnitude = m.Number(magnitudeKey, fallback, min, max);
        // Oxygen is given as the level reached, which reads better; the model wants the drop from normal air.
        if (kind == PlumeKind.OxygenDepletion)
        {
            magnitude = 20.9 - magnitude;
        }
        var spread = m.Number("spread_m", 40, 1, 10_000);
        var speed = m.Number("spread_speed_mps", 0.5, 0.01, 100);
        return tunnel is null ? null : new PlumeIncident(kind, tunnel, chainage, at, rise, hold, decay, magnitude, spread, speed, line);
    }

    private static SensorFault Fault(YamlMap m, SensorFaultKind kind, SensorResolver resolver, TimeSpan at, int line, SensorKind[] kinds)
    {
        var sensors = resolver.Sensors(m, kinds);
        var open = kind is SensorFaultKind.ClockSkew or SensorFaultKind.StrainCreep or SensorFaultKind.StrainStep;
        var duration = kind == SensorFaultKind.StrainStep
            ? TimeSpan.MaxValue
            : m.Duration("duration", open ? TimeSpan.MaxValue : TimeSpan.Zero, required: !open, allowZero: false);
        double magnitude = 0;
        var skew = TimeSpan.Zero;
        Field? field = null;
        double probability = 0;
        switch (kind)
        {
            case SensorFaultKind.Spikes:
                probability = m.Number("probability", 0.2, 0, 1);
                magnitude = m.Number("magnitude", 0, -10_000, 10_000, required: true);
                if (m.String("field", required: true) is { } name)
                {
                    var matches = sensors.Count == 0 ? [] : resolver.FieldsOf(sensors[0]).Where(f => f.Name == name).ToList();
                    if (matches.Count == 0 && sensors.Count > 0)
                    {
                        m.Errors.Add(m.Raw("field")!, $"'{name}' is not a field of {resolver.KindOf(sensors[0]).Name()} sensors");
                    }
                    field = matches.FirstOrDefault()?.Id;
                }
                break;
            case SensorFaultKind.ClockSkew:
                skew = m.Duration("skew", TimeSpan.Zero, required: true, allowNegative: true);
                break;
            case SensorFaultKind.StrainCreep:
                magnitude = m.Number("rate_per_day", 0, -10_000, 10_000, required: true);
                break;
            case SensorFaultKind.StrainStep:
                magnitude = m.Number("step", 0, -5000, 5000, required: true);
                break;
        }
        return new SensorFault(kind, sensors, at, duration, magnitude, skew, field, probability, line);
    }

    private static MalformedIncident Malformed(YamlMap m, SensorResolver resolver, TimeSpan at, int line)
    {
        var sensors = resolver.Sensors(m);
        var every = m.Duration("every", TimeSpan.FromSeconds(5), allowZero: false);
        var repeat = m.Integer("repeat", 1, 1, 100_000);
        var reasons = new List<RejectionReason>();
        foreach (var (name, node) in m.Strings("reasons") ?? MalformedIncident.Supported.Select(r => (r.Name(), m.Node)).ToList())
        {
            var match = MalformedIncident.Supported.Where(r => r.Name() == name).ToList();
            if (match.Count == 0)
            {
                m.Errors.Add(node, $"the simulator cannot provoke '{name}' (it can: {string.Join(", ", MalformedIncident.Supported.Select(r => r.Name()))})");
                continue;
            }
            reasons.Add(match[0]);
        }
        if (sensors.Count > 1)
        {
            m.Errors.Add(m.Node, "malformed_payloads takes one 'sensor' whose topic it uses");
        }
        return new MalformedIncident(sensors.FirstOrDefault(), at, every, repeat, reasons, line);
    }
}
