namespace Telemetry.Simulator.Tests;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("90s", 90_000)]
    [InlineData("10m", 600_000)]
    [InlineData("8h", 28_800_000)]
    [InlineData("2d", 172_800_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5h", 5_400_000)]
    public void Parse_AcceptsTheSpecSpellings(string text, long ms) =>
        Assert.Equal(TimeSpan.FromMilliseconds(ms), Durations.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("10 minutes")]
    [InlineData("-5m")]
    [InlineData("m")]
    public void TryParse_RefusesAnythingElse(string text) => Assert.False(Durations.TryParse(text, out _));

    [Fact]
    public void TryParse_SignedWhenAllowed()
    {
        Assert.True(Durations.TryParse("-5m", out var back, allowNegative: true));
        Assert.Equal(TimeSpan.FromMinutes(-5), back);
        Assert.True(Durations.TryParse("+10m", out var ahead, allowNegative: true));
        Assert.Equal(TimeSpan.FromMinutes(10), ahead);
    }
}
