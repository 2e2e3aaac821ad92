using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Tests.Notifications;

internal static class Events
{
    public static AlertEvent Make(AlertState state, string level, string previous = "normal", string rule = "co-instant", string sensor = "gas-0007") => new()
    {
        AlertId = $"kukes/t03/{sensor}/{rule}",
        Site = "kukes",
        Tunnel = "t03",
        Sensor = sensor,
        Kind = "gas",
        Rule = rule,
        Field = "co_ppm",
        State = state,
        Level = level,
        PreviousLevel = previous,
        Value = 112.4,
        Threshold = 100,
        Ts = new DateTimeOffset(2026, 11, 28, 10, 15, 0, 250, TimeSpan.Zero),
        Message = "CO 112.4 ppm is above the red level 100 ppm",
    };
}
