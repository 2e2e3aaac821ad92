using System.Globalization;
using Microsoft.Extensions.Configuration;
using Telemetry.Alerting.Rules;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Rules;

public sealed class AlertRulesTests
{
    // SPEC §7.3, as written there: rule id | kind.field | type | amber | red.
    private const string SpecTable = """
        | `ch4-lel` | gas.ch4_lel_pct | threshold above | 10 | 20 |
        | `co-instant` | gas.co_ppm | threshold above | 30 | 100 |
        | `co-stel` | gas.co_ppm | average 15m | — | 100 |
        | `co-twa` | gas.co_ppm | average 8h | 20 | — |
        | `h2s-instant` | gas.h2s_ppm | threshold above | 5 | 10 |
        | `h2s-stel` | gas.h2s_ppm | average 15m | — | 10 |
        | `h2s-twa` | gas.h2s_ppm | average 8h | 5 | — |
        | `o2-low` | gas.o2_pct | threshold below | 19.5 | 19.0 |
        | `o2-high` | gas.o2_pct | threshold above | 23.0 | 23.5 |
        | `co2-stel` | gas.co2_ppm | average 15m | — | 15000 |
        | `co2-twa` | gas.co2_ppm | average 8h | 5000 | — |
        | `no2-stel` | gas.no2_ppm | average 15m | — | 1.0 |
        | `no2-twa` | gas.no2_ppm | average 8h | 0.5 | — |
        | `rh-high` | humidity.rh_pct | threshold above, for 30m | 85 | 95 |
        | `strain-abs` | strain.microstrain | threshold, absolute value above | 1000 | 1500 |
        | `strain-rate` | strain.microstrain | rate over 6h, µε per hour | 20 | 50 |
        | `sensor-stale` | any | stale | after 15m | — |
        """;

    private static IConfiguration Config(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void DefaultRules_EqualTheSpecTable()
    {
        var rows = SpecTable.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Trim('|').Split('|').Select(c => c.Trim()).ToArray()).ToList();
        Assert.Equal(rows.Select(r => r[0].Trim('`')), DefaultRules.All.Select(r => r.Id));
        foreach (var row in rows)
        {
            var rule = DefaultRules.All.Single(r => r.Id == row[0].Trim('`'));
            var type = row[2];
            Assert.Equal(row[1] == "any" ? "any" : row[1].Split('.')[0], rule.Kind);
            Assert.Equal(row[1] == "any" ? "" : row[1].Split('.')[1], rule.Field);
            Assert.Equal(type.Split(' ', ',')[0], rule.Type.ToString().ToLowerInvariant());
            Assert.Equal(type.Contains("below") ? RuleDirection.Below : type.Contains("absolute") || type.StartsWith("rate") ? RuleDirection.Abs : RuleDirection.Above, rule.Direction);
            var window = type switch
            {
                _ when type.Contains("15m") => TimeSpan.FromMinutes(15),
                _ when type.Contains("8h") => TimeSpan.FromHours(8),
                _ when type.Contains("6h") => TimeSpan.FromHours(6),
                _ => (TimeSpan?)null,
            };
            Assert.Equal(window, rule.Window);
            Assert.Equal(type.Contains("for 30m") ? TimeSpan.FromMinutes(30) : null, rule.For);
            if (rule.Type == RuleType.Stale)
            {
                Assert.Equal(TimeSpan.FromMinutes(15), rule.After);
                continue;
            }
            Assert.Equal(Level(row[3]), rule.Amber);
            Assert.Equal(Level(row[4]), rule.Red);
            Assert.Null(rule.Hysteresis);
        }

        static double? Level(string cell) => cell == "—" ? null : double.Parse(cell, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Load_WithoutConfiguration_IsTheDefaultTable()
    {
        var rules = AlertRules.Load(Config());
        Assert.Empty(rules.Errors);
        Assert.Equal(DefaultRules.All, rules.Rules);
    }

    [Fact]
    public void Load_OneEnvironmentStyleSetting_ChangesOneNumber()
    {
        var rules = AlertRules.Load(Config(("Telemetry:Alerts:Rules:co-instant:Red", "50"), ("Telemetry:Alerts:Rules:sensor-stale:After", "2m")));
        Assert.Empty(rules.Errors);
        var expected = DefaultRules.All.Select(r => r.Id switch
        {
            "co-instant" => r with { Red = 50 },
            "sensor-stale" => r with { After = TimeSpan.FromMinutes(2) },
            _ => r,
        });
        Assert.Equal(expected, rules.Rules);
    }

    [Fact]
    public void Load_EnabledFalse_KeepsTheRuleSwitchedOff()
    {
        var rules = AlertRules.Load(Config(("Telemetry:Alerts:Rules:rh-high:Enabled", "false")));
        Assert.False(rules.Rules.Single(r => r.Id == "rh-high").Enabled);
    }

    [Fact]
    public void Load_NewRule_IsAdded()
    {
        var rules = AlertRules.Load(Config(
            ("Telemetry:Alerts:Rules:battery-low:Type", "threshold"),
            ("Telemetry:Alerts:Rules:battery-low:Kind", "gas"),
            ("Telemetry:Alerts:Rules:battery-low:Field", "battery_v"),
            ("Telemetry:Alerts:Rules:battery-low:Direction", "below"),
            ("Telemetry:Alerts:Rules:battery-low:Amber", "3.3"),
            ("Telemetry:Alerts:Rules:battery-low:Red", "3.1")));
        Assert.Empty(rules.Errors);
        Assert.Equal(new RuleDefinition { Id = "battery-low", Type = RuleType.Threshold, Kind = "gas", Field = "battery_v", Direction = RuleDirection.Below, Amber = 3.3, Red = 3.1 },
            rules.Rules.Single(r => r.Id == "battery-low"));
    }

    // SPEC §7.2: a rate fires on a change "in either direction"; a lining that compresses moves as fast as one that opens.
    [Fact]
    public void Load_NewRateRuleWithoutDirection_WatchesBothDirections()
    {
        var rules = AlertRules.Load(Config(
            ("Telemetry:Alerts:Rules:lining-rate:Type", "rate"),
            ("Telemetry:Alerts:Rules:lining-rate:Kind", "strain"),
            ("Telemetry:Alerts:Rules:lining-rate:Field", "microstrain"),
            ("Telemetry:Alerts:Rules:lining-rate:Window", "6h"),
            ("Telemetry:Alerts:Rules:lining-rate:Amber", "20"),
            ("Telemetry:Alerts:Rules:lining-rate:Red", "50")));
        Assert.Empty(rules.Errors);
        Assert.Equal(RuleDirection.Abs, rules.Rules.Single(r => r.Id == "lining-rate").Direction);
    }

    [Fact]
    public void Load_RuleMadeARateWithAnExplicitDirection_KeepsIt()
    {
        var rules = AlertRules.Load(Config(
            ("Telemetry:Alerts:Rules:lining-opening:Type", "rate"),
            ("Telemetry:Alerts:Rules:lining-opening:Kind", "strain"),
            ("Telemetry:Alerts:Rules:lining-opening:Field", "microstrain"),
            ("Telemetry:Alerts:Rules:lining-opening:Direction", "above"),
            ("Telemetry:Alerts:Rules:lining-opening:Window", "6h"),
            ("Telemetry:Alerts:Rules:lining-opening:Amber", "20")));
        Assert.Empty(rules.Errors);
        Assert.Equal(RuleDirection.Above, rules.Rules.Single(r => r.Id == "lining-opening").Direction);
    }

    [Fact]
    public void Load_AverageRuleBelow_IsAnError()
    {
        var rules = AlertRules.Load(Config(
            ("Telemetry:Alerts:Rules:o2-twa:Type", "average"),
            ("Telemetry:Alerts:Rules:o2-twa:Kind", "gas"),
            ("Telemetry:Alerts:Rules:o2-twa:Field", "o2_pct"),
            ("Telemetry:Alerts:Rules:o2-twa:Direction", "below"),
            ("Telemetry:Alerts:Rules:o2-twa:Window", "15m"),
            ("Telemetry:Alerts:Rules:o2-twa:Amber", "19.5")));
        Assert.Contains("Telemetry:Alerts:Rules:o2-twa:Direction: an average rule is 'above' only (an exposure limit)", rules.Errors);
    }

    [Fact]
    public void Load_InvalidRules_ReportsEveryErrorNamingRuleAndField()
    {
        var rules = AlertRules.Load(Config(
            ("Telemetry:Alerts:Rules:co-instant:Red", "abc"),
            ("Telemetry:Alerts:Rules:o2-low:Red", "20"),
            ("Telemetry:Alerts:Rules:co-stel:Window", ""),
            ("Telemetry:Alerts:Rules:co-twa:For", "soon"),
            ("Telemetry:Alerts:Rules:h2s-instant:Field", "h2s"),
            ("Telemetry:Alerts:Rules:ch4-lel:Redd", "5"),
            ("Telemetry:Alerts:Rules:mystery:Amber", "5")));
        Assert.Contains("Telemetry:Alerts:Rules:co-instant:Red: 'abc' is not a number", rules.Errors);
        Assert.Contains(rules.Errors, e => e.StartsWith("Telemetry:Alerts:Rules:o2-low:Red: red level 20 must be below the amber level 19.5", StringComparison.Ordinal));
        Assert.Contains(rules.Errors, e => e.StartsWith("Telemetry:Alerts:Rules:co-stel:Window: an average rule needs a positive Window", StringComparison.Ordinal));
        Assert.Contains(rules.Errors, e => e.StartsWith("Telemetry:Alerts:Rules:co-twa:For: 'soon' is not a duration", StringComparison.Ordinal));
        Assert.Contains(rules.Errors, e => e.StartsWith("Telemetry:Alerts:Rules:h2s-instant:Field: 'h2s' is not a field of gas", StringComparison.Ordinal));
        Assert.Contains(rules.Errors, e => e.StartsWith("Telemetry:Alerts:Rules:ch4-lel:Redd: unknown option 'Redd'", StringComparison.Ordinal));
        Assert.Contains(rules.Errors, e => e.StartsWith("Telemetry:Alerts:Rules:mystery:Type: missing", StringComparison.Ordinal));
        Assert.Equal(7, rules.Errors.Count);
    }

    [Fact]
    public void Load_RulesFile_IsLayeredBetweenDefaultsAndConfiguration()
    {
        using var dir = new TempDir("rules");
        var file = dir.Combine("rules.yaml");
        File.WriteAllText(file, """
            Rules:
              co-instant:
                Red: 60
                Amber: 25
              rh-high:
                For: 00:10:00
            """);
        var rules = AlertRules.Load(Config(("Telemetry:Alerts:RulesFile", file), ("Telemetry:Alerts:Rules:co-instant:Amber", "20")));
        Assert.Empty(rules.Errors);
        var co = rules.Rules.Single(r => r.Id == "co-instant");
        Assert.Equal((20.0, 60.0), (co.Amber, co.Red));
        Assert.Equal(TimeSpan.FromMinutes(10), rules.Rules.Single(r => r.Id == "rh-high").For);
    }

    [Fact]
    public void Load_JsonRulesFileWithAnError_NamesFileAndLine()
    {
        using var dir = new TempDir("rules");
        var file = dir.Combine("rules.json");
        File.WriteAllText(file, "{\n  \"Rules\": {\n    \"co-stel\": {\n      \"Red\": \"lots\"\n    }\n  }\n}\n");
        var rules = AlertRules.Load(Config(("Telemetry:Alerts:RulesFile", file)));
        Assert.Equal(["rules.json line 4: Rules:co-stel:Red: 'lots' is not a number"], rules.Errors);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("15m", 900_000)]
    [InlineData("8h", 28_800_000)]
    [InlineData("2d", 172_800_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("00:15:00", 900_000)]
    [InlineData("1.02:00:00", 93_600_000)]
    public void Durations_AcceptOperatorSpellings(string text, long ms)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5m")]
    [InlineData("5 minutes")]
    [InlineData("-00:05:00")]
    [InlineData("15")] // TimeSpan alone reads this as 15 days: a stale `After` that never comes
    [InlineData("15:00")] // and this as 15 hours
    public void Durations_RejectOtherText(string text) => Assert.False(Durations.TryParse(text, out _));
}
