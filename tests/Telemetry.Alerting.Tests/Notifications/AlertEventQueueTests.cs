using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Alerting.Notifications;
using Telemetry.Contracts.Alerts;
using Telemetry.Testing;

namespace Telemetry.Alerting.Tests.Notifications;

/// <summary>What a channel that has fallen behind still delivers, and what it gives up.</summary>
public sealed class AlertEventQueueTests
{
    [Fact]
    public async Task NotificationChannelBehind_AFlappingSensorCannotPushOutAnotherSensorsAlert()
    {
        // Capacity 20: the channel coalesces once 20 events wait. Before this, a full queue dropped its oldest event,
        // so a sensor flapping thousands of times pushed a single red alert of another sensor out of MQTT.
        var (metrics, channel, worker, _) = await BusyWorkerAsync(coalesces: true);

        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: "gas-once"));
        for (var i = 0; i < 5_000; i++)
        {
            await worker.EnqueueAsync(Flap(i));
        }
        channel.Gate.SetResult();
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        var delivered = channel.Groups.Skip(1).SelectMany(g => g).ToList();
        Assert.Equal("kukes/t03/gas-once/co-instant", delivered[0].AlertId);
        Assert.Equal(AlertState.Raised, delivered[0].State);
        var flaps = delivered.Skip(1).ToList();
        // The first 19 flaps waited in order; every later one took the place of the newest waiting: the last is the current state.
        Assert.Equal(19, flaps.Count);
        Assert.Equal(Enumerable.Range(0, 18).Select(i => Flap(i).State), flaps.Take(18).Select(e => e.State));
        Assert.Equal(Flap(4_999).State, flaps[^1].State);
        Assert.Equal(Flap(4_999).Value, flaps[^1].Value);
        Assert.Equal(1 + 1 + 19, metrics.Channel("gated", "delivered"));
        Assert.Equal(5_000 - 19, metrics.Channel("gated", "superseded"));
        Assert.Equal(0, metrics.Channel("gated", "dropped"));
    }

    [Fact]
    public async Task RateBoundChannel_SendsABurstAtOnce_ThenEachAlertsNewestEventAtItsRate()
    {
        // 100 events a second after a burst of 200 (the MQTT channel's bound, Telemetry:Alerts:MqttEventsPerSecond).
        var (metrics, channel, worker, time) = RateBoundWorker(perSecond: 100, burst: 200);
        worker.Start(CancellationToken.None);

        // A whole fleet raising at once goes out without waiting for the clock.
        for (var i = 0; i < 200; i++)
        {
            await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: $"gas-{i:D4}"));
        }
        await Poll.UntilAsync(() => metrics.Channel("gated", "delivered") == 200, "the burst to go out at once");

        // Then five sensors flap a thousand times each while the bound is spent: only each alert's newest event waits.
        for (var i = 0; i < 5_000; i++)
        {
            await worker.EnqueueAsync(Flap(i / 5) with { Sensor = $"flap-{i % 5}", AlertId = $"kukes/t03/flap-{i % 5}/co-instant" });
        }
        Assert.Equal(4_995, metrics.Channel("gated", "superseded"));
        Assert.Equal(200, metrics.Channel("gated", "delivered"));

        // A tenth of a second later they go, each alert's current state.
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Poll.UntilAsync(() => metrics.Channel("gated", "delivered") == 205, "the five alerts' newest events");
        await worker.StopAsync(TimeSpan.FromSeconds(10));
        var last = Delivered(channel).Skip(200).ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(s => $"flap-{s}"), last.Select(e => e.Sensor));
        Assert.All(last, e => Assert.Equal(Flap(999).Value, e.Value));
        Assert.All(last, e => Assert.Equal(Flap(999).State, e.State));
    }

    [Fact]
    public async Task RateBoundChannel_AtShutdown_SendsEveryAlertsNewestEventAtOnce()
    {
        // MQTT's retained states must be current when the service stops, however far the bound had held them back.
        var (metrics, channel, worker, _) = RateBoundWorker(perSecond: 10, burst: 10);
        // Three events each of 100 alerts, queued before the worker runs: more than the bound lets go, so each alert's
        // newest waits (values 200-299); the worker then sends the first ten and waits for the clock.
        for (var i = 0; i < 300; i++)
        {
            await worker.EnqueueAsync(Events.Make(AlertState.Raised, "red", sensor: $"gas-{i % 100:D4}") with { Value = i });
        }
        worker.Start(CancellationToken.None);
        await Poll.UntilAsync(() => metrics.Channel("gated", "delivered") == 10, "the burst");

        // The clock does not move: only the stop can let the other 90 alerts out.
        await worker.StopAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(100, metrics.Channel("gated", "delivered"));
        var rest = Delivered(channel).Skip(10).ToList();
        Assert.Equal(Enumerable.Range(210, 90).Select(i => (double)i), rest.Select(e => e.Value!.Value));
        Assert.Equal(200, metrics.Channel("gated", "superseded"));
    }

    [Fact]
    public async Task PlainChannelBehind_KeepsEveryEventItHasRoomFor_AndCountsTheOldestItDrops()
    {
        var (metrics, channel, worker, _) = await BusyWorkerAsync(coalesces: false);

        for (var i = 0; i < 100; i++)
        {
            await worker.EnqueueAsync(Flap(i));
        }
        channel.Gate.SetResult();
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        var delivered = channel.Groups.Skip(1).SelectMany(g => g).ToList();
        Assert.Equal(Enumerable.Range(80, 20).Select(i => Flap(i).Value), delivered.Select(e => e.Value));
        Assert.Equal(80, metrics.Channel("gated", "dropped"));
        Assert.Equal(0, metrics.Channel("gated", "superseded"));
    }

    [Fact]
    public void KeepingUp_EveryEventWaitsItsTurn_EvenAnAlertsSecond()
    {
        var queue = new AlertEventQueue(capacity: 100, coalesceAfter: 10);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(EnqueueOutcome.Queued, queue.Enqueue(Flap(i), out var lost));
            Assert.Null(lost);
        }
        Assert.Equal(10, queue.Count);

        Assert.Equal(EnqueueOutcome.Superseded, queue.Enqueue(Flap(10), out var replaced));
        Assert.Equal(Flap(9).Value, replaced!.Value);
        Assert.Equal(10, queue.Count);
    }

    [Fact]
    public async Task Behind_ARepeatOrBacklogHistory_NeverReplacesTheCurrentState()
    {
        var queue = new AlertEventQueue(capacity: 100, coalesceAfter: 0);
        var raised = Events.Make(AlertState.Raised, "red");
        queue.Enqueue(raised, out _);

        // MQTT publishes nothing for a repeat and never retains history: replacing would lose the retained state.
        Assert.Equal(EnqueueOutcome.Queued, queue.Enqueue(raised with { Repeat = true }, out _));
        Assert.Equal(EnqueueOutcome.Queued, queue.Enqueue(Events.Make(AlertState.Cleared, "normal", "red") with { Backlog = true }, out _));
        Assert.Equal(EnqueueOutcome.Superseded, queue.Enqueue(Events.Make(AlertState.Cleared, "normal", "amber") with { Backlog = true, Value = 1 }, out var history));
        Assert.True(history!.Backlog);
        Assert.Equal(EnqueueOutcome.Queued, queue.Enqueue(Events.Make(AlertState.Deescalated, "amber", "red"), out _));

        var taken = new List<AlertEvent>();
        Assert.True(await queue.TakeAsync(taken, 10));
        Assert.Equal(
            [(AlertState.Raised, false, false), (AlertState.Raised, true, false), (AlertState.Cleared, false, true), (AlertState.Deescalated, false, false)],
            taken.Select(e => (e.State, e.Repeat, e.Backlog)));
        Assert.Equal(1, taken[2].Value);
    }

    [Fact]
    public async Task Closed_TakesNothingNew_ButGivesWhatWaits()
    {
        var queue = new AlertEventQueue(capacity: 10, coalesceAfter: null);
        queue.Enqueue(Flap(0), out _);
        queue.Close();

        Assert.Equal(EnqueueOutcome.Closed, queue.Enqueue(Flap(1), out _));
        var taken = new List<AlertEvent>();
        Assert.True(await queue.TakeAsync(taken, 10));
        Assert.Single(taken);
        Assert.False(await queue.TakeAsync(taken, 10));
    }

    [Fact]
    public async Task Waiting_WakesForTheFirstEvent()
    {
        var queue = new AlertEventQueue(capacity: 10, coalesceAfter: null);
        var taken = new List<AlertEvent>();
        var take = queue.TakeAsync(taken, 10);
        Assert.False(take.IsCompleted);

        queue.Enqueue(Flap(0), out _);

        Assert.True(await take.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Single(taken);
    }

    [Fact]
    public async Task RecordChannelFull_EvaluationWaitsForIt_AndEveryEventIsKept()
    {
        // Before this, the InfluxDB record dropped up to 48 % of a storm's events when its task was not scheduled for a
        // few hundred milliseconds (SPEC §7.5: every event is kept).
        var (metrics, channel, worker, _) = await BusyWorkerAsync(coalesces: false, waits: true);

        var enqueue = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await worker.EnqueueAsync(Flap(i));
            }
        });
        await Poll.UntilAsync(() => metrics.FullWaits().Any(w => w.Count == 1), "the 21st event to wait for room");
        Assert.False(enqueue.IsCompleted);
        channel.Gate.SetResult();
        await enqueue.WaitAsync(TimeSpan.FromSeconds(10));
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        var delivered = channel.Groups.Skip(1).SelectMany(g => g).ToList();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => Flap(i).Value), delivered.Select(e => e.Value));
        Assert.Equal(0, metrics.Channel("gated", "dropped"));
    }

    [Fact]
    public async Task RecordChannelStuck_EvaluationWaitsOnceThenDrops_UntilTheChannelTakesEventsAgain()
    {
        var (metrics, channel, worker, time) = await BusyWorkerAsync(coalesces: false, waits: true);
        for (var i = 0; i < 20; i++)
        {
            await worker.EnqueueAsync(Flap(i));
        }

        var waiting = worker.EnqueueAsync(Flap(20)).AsTask();
        await Poll.UntilAsync(() => metrics.FullWaits().Any(w => w.Count == 1), "the 21st event to wait for room");
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        // Stuck: the next events drop at once, without another wait.
        for (var i = 21; i < 30; i++)
        {
            var enqueued = worker.EnqueueAsync(Flap(i)).AsTask();
            Assert.True(enqueued.IsCompletedSuccessfully);
        }
        Assert.Equal(10, metrics.Channel("gated", "dropped"));
        Assert.Equal(1, metrics.FullWaits().Single().Count);

        // Once it takes events again it keeps everything again.
        channel.Gate.SetResult();
        await Poll.UntilAsync(() => metrics.Channel("gated", "delivered") == 21, "the channel to deliver what waited");
        await worker.EnqueueAsync(Flap(30));
        await worker.StopAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Flap(30).Value, channel.Groups[^1][^1].Value);
        Assert.Equal(10, metrics.Channel("gated", "dropped"));
    }

    [Fact]
    public async Task RecordChannelFull_WithNoFullWaitConfigured_DropsAtOnce_WithoutCallingItStuck()
    {
        var (metrics, channel, worker, _) = await BusyWorkerAsync(coalesces: false, waits: true, fullWait: TimeSpan.Zero);

        for (var i = 0; i < 25; i++)
        {
            var enqueued = worker.EnqueueAsync(Flap(i)).AsTask();
            Assert.True(enqueued.IsCompletedSuccessfully);
        }
        channel.Gate.SetResult();
        await worker.StopAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(5, metrics.Channel("gated", "dropped"));
        Assert.Empty(metrics.FullWaits());
    }

    /// <summary>A worker bound to <paramref name="perSecond"/> events after a burst, on a fake clock, whose channel takes everything.</summary>
    private static (AlertMetrics, GatedChannel, ChannelWorker, FakeTimeProvider) RateBoundWorker(int perSecond, int burst)
    {
        var metrics = new AlertMetrics();
        var channel = new GatedChannel(coalesces: true);
        channel.Gate.SetResult();
        var time = new FakeTimeProvider();
        return (metrics, channel, new ChannelWorker(channel, 10_000, NullLogger.Instance, metrics, TimeSpan.Zero, time, new EventRate(perSecond, burst, time)), time);
    }

    private static List<AlertEvent> Delivered(GatedChannel channel)
    {
        lock (channel.Groups)
        {
            return channel.Groups.SelectMany(g => g).ToList();
        }
    }

    /// <summary>A worker with room for 20 events whose channel is busy with a first group until its gate opens.</summary>
    private static async Task<(AlertMetrics, GatedChannel, ChannelWorker, FakeTimeProvider)> BusyWorkerAsync(bool coalesces, bool waits = false, TimeSpan? fullWait = null)
    {
        var metrics = new AlertMetrics();
        var channel = new GatedChannel(coalesces, waits);
        var time = new FakeTimeProvider();
        var worker = new ChannelWorker(channel, 20, NullLogger.Instance, metrics, fullWait ?? TimeSpan.FromSeconds(1), time);
        worker.Start(CancellationToken.None);
        await worker.EnqueueAsync(Events.Make(AlertState.Raised, "amber", sensor: "gas-busy"));
        await Poll.UntilAsync(() => channel.Groups.Count == 1, "the channel to be busy with a first group");
        return (metrics, channel, worker, time);
    }

    private static AlertEvent Flap(int i) => Events.Make(i % 2 == 0 ? AlertState.Raised : AlertState.Cleared, i % 2 == 0 ? "amber" : "normal", sensor: "gas-flap") with { Value = i };
}
