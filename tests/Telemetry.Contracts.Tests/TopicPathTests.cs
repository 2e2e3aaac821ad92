using Telemetry.Contracts;

namespace Telemetry.Contracts.Tests;

public sealed class TopicPathTests
{
    [Theory]
    [InlineData("tunnels/kukes/t03/gas/gas-0007", "kukes", "t03", SensorKind.Gas, "gas-0007")]
    [InlineData("tunnels/A_b-9/T/humidity/x", "A_b-9", "T", SensorKind.Humidity, "x")]
    [InlineData("tunnels/s/t/strain/sg_01", "s", "t", SensorKind.Strain, "sg_01")]
    public void TryParse_WellFormedTopic_GivesItsSegments(string topic, string site, string tunnel, SensorKind kind, string sensor)
    {
        Assert.True(TopicPath.TryParse(topic, "tunnels", out var a, out _));
        Assert.Equal(new SensorAddress(site, tunnel, kind, sensor), a);
    }

    [Theory]
    [InlineData("tunnels/kukes/t03/gas")]
    [InlineData("tunnels/kukes/t03/gas/gas-1/extra")]
    [InlineData("tunnels/kukes/t03/radon/r-1")]
    [InlineData("tunnels/kukes/t03/Gas/g-1")]
    [InlineData("tunnels/kukes//gas/g-1")]
    [InlineData("tunnels/ku kes/t03/gas/g-1")]
    [InlineData("tunnels/kukes/t03/gas/g.1")]
    [InlineData("tunnels/kukes/t03/gas/ĝ")]
    [InlineData("other/kukes/t03/gas/g-1")]
    [InlineData("tunnels/kukes/t03/gas/")]
    public void TryParse_WrongShape_IsRefusedWithAReason(string topic)
    {
        Assert.False(TopicPath.TryParse(topic, "tunnels", out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TryParse_SegmentLength_Is1To64()
    {
        Assert.True(TopicPath.TryParse($"tunnels/s/t/gas/{new string('a', 64)}", "tunnels", out _, out _));
        Assert.False(TopicPath.TryParse($"tunnels/s/t/gas/{new string('a', 65)}", "tunnels", out _, out _));
    }

    [Fact]
    public void TryParse_ConfiguredRoot_IsHonoured()
    {
        Assert.True(TopicPath.TryParse("site-a/s/t/gas/g", "site-a", out _, out _));
        Assert.False(TopicPath.TryParse("tunnels/s/t/gas/g", "site-a", out _, out _));
    }

    [Fact]
    public void SensorAddress_KeyIsCached_ButEqualityAndWithIgnoreTheCache()
    {
        var a = new SensorAddress("kukes", "t03", SensorKind.Gas, "gas-0007");
        var b = new SensorAddress("kukes", "t03", SensorKind.Gas, "gas-0007");
        Assert.Equal("kukes/t03/gas-0007", a.Key);
        Assert.Same(a.Key, a.Key);
        Assert.Equal(a, b); // one has its key built, the other not
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        var moved = a with { Sensor = "gas-0008" };
        Assert.Equal("kukes/t03/gas-0008", moved.Key);
        Assert.NotEqual(a, moved);
    }
}
