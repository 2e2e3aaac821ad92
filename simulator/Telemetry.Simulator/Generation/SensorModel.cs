using Telemetry.Contracts;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Generation;

/// <summary>
/// The physics of one sensor: what it reads at a moment, before faults. Each instance owns its random stream and
/// drift state and must be sampled in time order. Numbers follow shared/notes/domain.md: deep air 10–14 °C near
/// saturation, portals following the outside day; O2 20.9 %, CO2 hundreds of ppm; VW gauges reading temperature
/// as a few µε/°C.
/// </summary>
internal sealed class SensorModel
{
    private const double OutsideCo2Ppm = 420;
    private const double MsPerDay = 86_400_000;

    private readonly SensorSpec _sensor;
    private readonly OutsideClimate _outside;
    private readonly Random _rng;
    private readonly double _weight;

    // Per-sensor calibration: no two real sensors read exactly alike.
    private readonly double _tempOffset;
    private readonly double _rhOffset;
    private readonly double _o2Offset;
    private readonly double _ch4Base;
    private readonly double _coBase;
    private readonly double _co2Factor;
    private readonly double _strainBaseline;
    private readonly double _battery0;
    private readonly double _rssiBase;
    private Drift _driftA;
    private Drift _driftB;

    public SensorModel(SensorSpec sensor, OutsideClimate outside, Random rng)
    {
        _sensor = sensor;
        _outside = outside;
        _rng = rng;
        _weight = sensor.Tunnel.OutsideWeight(sensor.ChainageM);
        _tempOffset = rng.Gaussian(0.2);
        _rhOffset = rng.Gaussian(0.8);
        _o2Offset = rng.Gaussian(0.05);
        _ch4Base = rng.Uniform(0, 0.4);
        _coBase = rng.Uniform(0, 1.0);
        _co2Factor = 1 + rng.Gaussian(0.05);
        _strainBaseline = sensor.Strain.Baseline ?? Math.Round(rng.Uniform(sensor.Strain.BaselineMin, sensor.Strain.BaselineMax));
        _battery0 = rng.Uniform(3.55, 3.68);
        _rssiBase = rng.Uniform(-95, -60);
        (_driftA, _driftB) = sensor.Kind switch
        {
            SensorKind.Humidity => (new Drift(0.01, 0.002), new Drift(0.05, 0.002)),
            SensorKind.Gas => (new Drift(0.003, 0.002), new Drift(0.02, 0.01)),
            _ => (new Drift(0.05, 0.001), default),
        };
    }

    public SensorSpec Sensor => _sensor;

    /// <summary>The strain baseline this gauge was given (fixed or drawn), for tests and registries.</summary>
    public double StrainBaseline => _strainBaseline;

    /// <param name="absoluteMs">Unix ms of the reading, for the daily cycle.</param>
    /// <param name="offset">Scenario time, for incidents.</param>
    /// <param name="plumes">Air-borne incidents in this sensor's tunnel.</param>
    /// <param name="extraStrain">Creep and steps scripted for this gauge, µε.</param>
    public Reading Sample(long absoluteMs, TimeSpan offset, IReadOnlyList<PlumeIncident> plumes, double extraStrain = 0)
    {
        var (airTemp, airRh) = Air(absoluteMs);
        var r = new Reading();
        switch (_sensor.Kind)
        {
            case SensorKind.Humidity:
                SampleHumidity(r, airTemp, airRh, offset, plumes);
                break;
            case SensorKind.Gas:
                SampleGas(r, offset, plumes);
                break;
            default:
                SampleStrain(r, offset, airTemp, extraStrain);
                break;
        }
        var days = offset.TotalMilliseconds / MsPerDay;
        r.Set(Field.BatteryV, Math.Round(Math.Clamp(_battery0 - (0.004 * days) + _rng.Gaussian(0.005), 2.8, 3.7), 2));
        r.Set(Field.RssiDbm, Math.Round(Math.Clamp(_rssiBase + _rng.Gaussian(2), -120, -30)));
        return r;
    }

    /// <summary>Air at the sensor: outside weather near portals, the tunnel's own climate deep inside.</summary>
    private (double TempC, double RhPct) Air(long absoluteMs)
    {
        var hour = ((absoluteMs / 3_600_000.0) + _outside.UtcOffsetHours) % 24;
        var cycle = Math.Cos(2 * Math.PI * (hour - 15) / 24);
        var outTemp = _outside.TempC + (_outside.TempAmplitudeC * cycle);
        var outRh = Math.Clamp(_outside.RhPct - (_outside.RhAmplitudePct * cycle), 5, 100);
        var t = _sensor.Tunnel;
        return ((_weight * outTemp) + ((1 - _weight) * t.DeepTempC), (_weight * outRh) + ((1 - _weight) * t.DeepRhPct));
    }

    private void SampleHumidity(Reading r, double airTemp, double airRh, TimeSpan offset, IReadOnlyList<PlumeIncident> plumes)
    {
        var temp = airTemp + _tempOffset + _driftA.Next(_rng) + _rng.Gaussian(0.05);
        var rh = airRh + _rhOffset + _driftB.Next(_rng) + _rng.Gaussian(0.3);
        foreach (var p in plumes)
        {
            if (p.Kind == PlumeKind.WaterIngress && p.Strength(_sensor.ChainageM, offset) is var a and > 0)
            {
                rh += (p.Magnitude - rh) * a;
                temp -= 0.8 * a;
            }
        }
        r.Set(Field.TempC, Math.Round(Math.Clamp(temp, -40, 85), 2));
        r.Set(Field.RhPct, Math.Round(Math.Clamp(rh, 0, 100), 1));
    }

    private void SampleGas(Reading r, TimeSpan offset, IReadOnlyList<PlumeIncident> plumes)
    {
        var t = _sensor.Tunnel;
        var co2 = (((_weight * OutsideCo2Ppm) + ((1 - _weight) * t.Co2Ppm)) * _co2Factor) + _driftB.Next(_rng) * 100 + _rng.Gaussian(15);
        var o2 = 20.9 + _o2Offset + _driftA.Next(_rng) + _rng.Gaussian(0.02);
        var ch4 = _ch4Base + _rng.Gaussian(0.12);
        var co = _coBase + _rng.Gaussian(0.3);
        var h2s = _rng.Gaussian(0.03);
        var no2 = 0.02 + _rng.Gaussian(0.01);
        foreach (var p in plumes)
        {
            var a = p.Strength(_sensor.ChainageM, offset);
            if (a <= 0)
            {
                continue;
            }
            switch (p.Kind)
            {
                case PlumeKind.MethaneLeak:
                    ch4 += p.Magnitude * a;
                    break;
                case PlumeKind.OxygenDepletion:
                    // Oxidation and breathing turn part of the oxygen into CO2.
                    o2 -= p.Magnitude * a;
                    co2 += 1500 * p.Magnitude * a;
                    break;
                case PlumeKind.CoEngine:
                    co += p.Magnitude * a;
                    co2 += 25 * p.Magnitude * a;
                    no2 += p.Magnitude / 60 * a;
                    break;
            }
        }
        r.Set(Field.Ch4LelPct, Clamp(FieldCatalogue.Ch4LelPct, ch4, 1));
        r.Set(Field.CoPpm, Clamp(FieldCatalogue.CoPpm, co, 1));
        r.Set(Field.H2sPpm, Clamp(FieldCatalogue.H2sPpm, h2s, 1));
        r.Set(Field.O2Pct, Clamp(FieldCatalogue.O2Pct, o2, 2));
        r.Set(Field.Co2Ppm, Clamp(FieldCatalogue.Co2Ppm, co2, 0));
        r.Set(Field.No2Ppm, Clamp(FieldCatalogue.No2Ppm, no2, 2));
    }

    private void SampleStrain(Reading r, TimeSpan offset, double airTemp, double extraStrain)
    {
        var t = _sensor.Tunnel;
        // The lining lags and damps the air's daily swing.
        var gaugeTemp = t.DeepTempC + (0.5 * (airTemp - t.DeepTempC)) + _tempOffset + _rng.Gaussian(0.05);
        var days = offset.TotalMilliseconds / MsPerDay;
        var strain = _strainBaseline
            + (_sensor.Strain.TempCoefficient * (gaugeTemp - t.DeepTempC))
            + (_sensor.Strain.CreepPerDay * days)
            + extraStrain
            + _driftA.Next(_rng)
            + _rng.Gaussian(0.5);
        r.Set(Field.Microstrain, Clamp(FieldCatalogue.Microstrain, strain, 1));
        r.Set(Field.TempC, Clamp(FieldCatalogue.TempC, gaugeTemp, 2));
    }

    private static double Clamp(FieldSpec spec, double value, int decimals) => Math.Round(Math.Clamp(value, spec.Min, spec.Max), decimals);
}
