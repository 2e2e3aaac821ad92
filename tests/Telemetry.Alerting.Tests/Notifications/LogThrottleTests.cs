using Microsoft.Extensions.Logging;
using Telemetry.Alerting.Notifications;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Tests.Notifications;

public sealed class LogThrottleTests
{
    [Fact]
    public void FirstOccurrenceIsSaid_RepeatsWithinTheIntervalAreCounted_AndToldWithTheNextLine()
    {
        var throttle = new LogThrottle(TimeSpan.FromSeconds(10));
        // Unix milliseconds today: a start value like long.MinValue must not overflow the comparison.
        const long t0 = 1_795_896_103_000;

        Assert.True(throttle.TryEnter(t0, out var first));
        Assert.Equal(1, first);
        Assert.False(throttle.TryEnter(t0 + 1, out _));
        Assert.False(throttle.TryEnter(t0 + 9_999, out _));
        Assert.True(throttle.TryEnter(t0 + 10_000, out var next));
        Assert.Equal(3, next);
    }

    [Fact]
    public async Task Worker_ChannelFarBehind_SaysTheDropsOnceWithACount()
    {
        var logger = new ListLogger();
        var channel = new StuckChannel();
        var worker = new ChannelWorker(channel, 1, logger, new AlertMetrics(), TimeSpan.Zero, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        worker.Start(stop.Token);
        // A queue of one in front of a channel that never finishes: at least 49 of these 50 are dropped.
        for (var i = 0; i < 50; i++)
        {
            await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: $"gas-{i:D4}"));
        }
        await stop.CancelAsync();
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        var warnings = logger.Lines.Where(l => l.Contains("is behind", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.Contains("dropped 1 ", warnings[0], StringComparison.Ordinal);
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
