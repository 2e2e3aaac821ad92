using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Registry;

public sealed class SensorRegistryTests
{
    private static readonly AlertRules Defaults = AlertRules.Load(new ConfigurationBuilder().Build());

    private static SensorRegistry Load(TempDir dir, string yaml, bool strict = false)
    {
        var file = dir.Combine("registry.yaml");
        File.WriteAllText(file, yaml);
        return SensorRegistry.Load(new RegistryOptions { File = file, Strict = strict }, Defaults);
    }

    [Fact]
    public void Load_SensorsAndOverrides_LayerSiteThenTunnelThenSensor()
    {
        using var dir = new TempDir("registry");
        var registry = Load(dir, """
            sites:
              - site: kukes
                rules: { co-instant: { Red: 80 } }
            tunnels:
              - site: kukes
                tunnel: t03
                rules: { co-instant: { Amber: 25 }, rh-high: { Enabled: false } }
            sensors:
              - { site: kukes, tunnel: t03, kind: gas, sensor: gas-0007, zone: north, chainage_m: 120.5,
                  rules: { co-instant: { Red: 70 }, sensor-stale: { After: 1h } } }
              - { site: kukes, tunnel: t03, kind: strain, sensor: str-0001, baseline: -350 }
            """, strict: true);
        Assert.Empty(registry.Errors);
        Assert.True(registry.Strict);
        Assert.True(registry.TryGet("kukes", "t03", "gas-0007", out var gas));
        Assert.Equal(("north", 120.5), (gas.Zone, gas.ChainageM));
        Assert.True(registry.TryGet("kukes", "t03", "str-0001", out var strain));
        Assert.Equal(-350, strain.Baseline);
        Assert.False(registry.TryGet("kukes", "t04", "gas-0007", out _));

        var rules = registry.RulesFor(new SensorAddress("kukes", "t03", SensorKind.Gas, "gas-0007"), Defaults.Rules);
        var co = rules.Single(r => r.Id == "co-instant");
        Assert.Equal((25.0, 70.0), (co.Amber, co.Red));
        Assert.Equal(TimeSpan.FromHours(1), rules.Single(r => r.Id == "sensor-stale").After);
        Assert.DoesNotContain(rules, r => r.Kind is "humidity" or "strain");

        var otherTunnel = registry.RulesFor(new SensorAddress("kukes", "t09", SensorKind.Gas, "gas-0100"), Defaults.Rules).Single(r => r.Id == "co-instant");
        Assert.Equal((30.0, 80.0), (otherTunnel.Amber, otherTunnel.Red));
        Assert.DoesNotContain(registry.RulesFor(new SensorAddress("kukes", "t03", SensorKind.Humidity, "h-1"), Defaults.Rules), r => r.Id == "rh-high");
    }

    /// <summary>An engine over the default rules and a registry file, on a fake clock at 2026-11-28T10:00Z.</summary>
    private static (AlertEngine Engine, FakeTimeProvider Time) EngineOver(string registryYaml)
    {
        using var dir = new TempDir("registry");
        var registry = Load(dir, registryYaml);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        return (AlertEngine.Create(Defaults, registry, time, TimeSpan.FromMinutes(15)), time);
    }

    // A registered gas sensor that never reports (dead at installation, publishing to the wrong topic) is as blind a
    // spot as one that stops: it is stale after its After from the start, though it never sent a reading.
    [Fact]
    public void Engine_RegisteredSensorThatNeverReports_IsStaleAfterItsAfter()
    {
        var (engine, time) = EngineOver("""
            sensors:
              - { site: kukes, tunnel: t03, kind: gas, sensor: gas-0007 }
              - { site: kukes, tunnel: t03, kind: gas, sensor: gas-0008, rules: { sensor-stale: { After: 1h } } }
            """);
        var events = new List<AlertEvent>();

        time.Advance(TimeSpan.FromMinutes(15));
        engine.Tick(events);
        Assert.Empty(events);
        time.Advance(TimeSpan.FromSeconds(1));
        engine.Tick(events);

        var e = Assert.Single(events);
        Assert.Equal(("kukes/t03/gas-0007/sensor-stale", AlertState.Raised, "amber"), (e.AlertId, e.State, e.Level));
        Assert.Contains("has not reported", e.Message, StringComparison.Ordinal);
    }

    // A registry entry naming another kind than the topic the sensor publishes on (a typo): its readings decide, so a
    // gas sensor entered as humidity still alerts on methane.
    [Fact]
    public void Engine_RegistryKindDiffersFromTopicKind_ReadingsStillAlert()
    {
        var (engine, time) = EngineOver("""
            sensors:
              - { site: kukes, tunnel: t03, kind: humidity, sensor: gas-0007 }
            """);
        var events = new List<AlertEvent>();
        var reading = new Reading { TimestampMs = time.GetUtcNow().ToUnixTimeMilliseconds() };
        reading.Set(Field.Ch4LelPct, 25);
        engine.Evaluate(new SensorAddress("kukes", "t03", SensorKind.Gas, "gas-0007"), [reading], events);
        Assert.Contains(events, e => e.Rule == "ch4-lel" && e.Level == "red");
    }

    [Fact]
    public void Load_InvalidFile_NamesFileLineAndField()
    {
        using var dir = new TempDir("registry");
        var registry = Load(dir, """
            sensors:
              - site: kukes
                tunnel: t03
                kind: gaz
                sensor: gas-0007
                chainage_m: far
              - site: kukes
                tunnel: t03
                kind: gas
                sensor: gas-0008
                rules:
                  co-instant: { Amber: 150 }
                  co-nope: { Red: 1 }
                  co-stel: { Field: h2s_ppm }
            """);
        Assert.Contains("registry.yaml line 4: sensors[0].kind: 'gaz' is not a kind (humidity, gas, strain)", registry.Errors);
        Assert.Contains("registry.yaml line 6: sensors[0].chainage_m: 'far' is not a number", registry.Errors);
        Assert.Contains(registry.Errors, e => e.StartsWith("registry.yaml line 13: sensors[1].rules.co-nope: no rule 'co-nope'", StringComparison.Ordinal));
        Assert.Contains(registry.Errors, e => e.StartsWith("registry.yaml line 14: sensors[1].rules.co-stel:Field: 'Field' cannot be overridden here", StringComparison.Ordinal));
        Assert.Contains(registry.Errors, e => e.StartsWith("registry.yaml: sensor kukes/t03/gas-0008: rule co-instant:Red: red level 100 must be above the amber level 150", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_StrictWithoutFile_IsAnError()
    {
        var registry = SensorRegistry.Load(new RegistryOptions { Strict = true }, Defaults);
        Assert.Equal(["Telemetry:Registry:Strict: strict mode needs Telemetry:Registry:File"], registry.Errors);
    }
}
