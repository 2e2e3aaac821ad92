using Telemetry.Contracts;
using Telemetry.Simulator.Scenarios;

namespace Telemetry.Simulator.Tests;

public sealed class ScenarioLoaderTests
{
    public static TheoryData<string> Shipped() => new(Directory.GetFiles(TestFeeds.ScenarioDirectory, "*.yaml").Select(Path.GetFileNameWithoutExtension)!);

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Load_EveryShippedScenario_Loads(string name)
    {
        var scenario = TestFeeds.Load(name);
        Assert.NotEmpty(scenario.Sensors);
        Assert.Equal(name, scenario.Name);
    }

    [Fact]
    public void Load_Baseline_IsSeveralTunnelsAndAboutTwoHundredSensorsOfEveryKind()
    {
        var scenario = TestFeeds.Load("kukes-baseline");
        Assert.True(scenario.Tunnels.Count >= 4);
        Assert.InRange(scenario.Sensors.Count, 150, 300);
        foreach (var kind in SensorKinds.All)
        {
            Assert.True(scenario.Sensors.Count(s => s.Kind == kind) >= 20, kind.Name());
        }
        Assert.Empty(scenario.Incidents);
        Assert.Equal(scenario.Sensors.Count, scenario.Sensors.Select(s => s.Address.Topic("t")).Distinct().Count());
    }

    [Fact]
    public void Parse_MisspeltKey_NamesFileLineAndReason()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("""
            name: x
            sites:
              - id: kukes
                tunnels:
                  - id: t01
                    lenght_m: 100
                    length_m: 100
                    sensors:
                      gas: { count: 2 }
            """, "bad.yaml"));
        var e = Assert.Single(ex.Errors);
        Assert.Equal("bad.yaml", e.File);
        Assert.Equal(6, e.Line);
        Assert.Contains("unknown key 'lenght_m'", e.Reason, StringComparison.Ordinal);
        Assert.StartsWith("bad.yaml:6:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EveryProblem_IsReportedAtOnceWithItsLine()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("""
            name: x
            intervals:
              gas: soon
            sites:
              - id: kukes
                tunnels:
                  - id: t01
                    length_m: 100
                    sensors:
                      gas: { count: 2 }
            incidents:
              - type: dropout
                sensor: gas-0099
                at: 1m
                duration: 1m
              - type: methane_leak
                tunnel: t01
                chainage_m: 250
              - type: earthquake
            """, "many.yaml"));
        Assert.Collection(ex.Errors,
            e => Assert.Equal((3, "'gas' must be a duration"), (e.Line, e.Reason[..24])),
            e => Assert.Equal((13, "no sensor 'gas-0099'"), (e.Line, e.Reason)),
            e => Assert.Equal((18, true), (e.Line, e.Reason.Contains("beyond the end of tunnel 't01'", StringComparison.Ordinal))),
            e => Assert.Equal((19, true), (e.Line, e.Reason.StartsWith("unknown incident type 'earthquake'", StringComparison.Ordinal))));
    }

    [Fact]
    public void Parse_YamlSyntaxError_NamesTheLine()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("name: x\nsites:\n  - id: [unclosed\n", "syntax.yaml"));
        var e = Assert.Single(ex.Errors);
        Assert.Equal("syntax.yaml", e.File);
        Assert.InRange(e.Line, 3, 4);
        Assert.StartsWith("YAML syntax", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_IsAScenarioError()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Load("/nonexistent/x.yaml"));
        Assert.Contains("cannot read", Assert.Single(ex.Errors).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_IncidentOnWrongKindOfSensor_IsRefused()
    {
        var ex = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("""
            sites:
              - id: s
                tunnels:
                  - id: t
                    length_m: 100
                    sensors:
                      gas: { count: 1 }
            incidents:
              - type: strain_step
                sensor: gas-0001
                step: 100
            """, "kind.yaml"));
        Assert.Contains("is a gas sensor", Assert.Single(ex.Errors).Reason, StringComparison.Ordinal);
    }
}
