using Microsoft.Extensions.Time.Testing;
using Telemetry.Simulator.Publishing;

namespace Telemetry.Simulator.Tests;

public sealed class ProgressReporterTests
{
    [Fact]
    public async Task Redirected_PrintsOnePlainLinePerSecond_WithSentRateAndElapsed()
    {
        var time = new FakeTimeProvider();
        var output = new StringWriter();
        var sent = new Counter();
        var progress = ProgressReporter.Start(TextWriter.Synchronized(output), interactive: false, sent, time);
        for (var i = 0; i < 500; i++)
        {
            sent.Increment();
        }
        time.Advance(TimeSpan.FromSeconds(1));
        await Testing.Poll.UntilAsync(() => output.ToString().Contains('\n', StringComparison.Ordinal), "the first progress line");
        time.Advance(TimeSpan.FromSeconds(1));
        await Testing.Poll.UntilAsync(() => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2, "the second progress line");
        await progress.DisposeAsync();

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("sent 500  rate 500/s  elapsed 00:00:01", lines[0].TrimEnd('\r'));
        Assert.Equal("sent 500  rate 250/s  elapsed 00:00:02", lines[1].TrimEnd('\r'));
        Assert.DoesNotContain('\r', output.ToString());
    }

    [Fact]
    public async Task Terminal_RewritesOneLine_AndEndsItOnDispose()
    {
        var time = new FakeTimeProvider();
        var output = new StringWriter();
        var progress = ProgressReporter.Start(TextWriter.Synchronized(output), interactive: true, new Counter(), time);
        time.Advance(TimeSpan.FromSeconds(1));
        await Testing.Poll.UntilAsync(() => output.ToString().StartsWith('\r'), "the progress line");
        await progress.DisposeAsync();
        Assert.StartsWith("\rsent 0", output.ToString(), StringComparison.Ordinal);
        Assert.EndsWith(Environment.NewLine, output.ToString(), StringComparison.Ordinal);
    }
}
