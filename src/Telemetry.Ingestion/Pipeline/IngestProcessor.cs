using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Telemetry.Contracts;
using Telemetry.Ingestion.Configuration;
using Telemetry.Ingestion.Metrics;
using Telemetry.Ingestion.Mqtt;
using Telemetry.Ingestion.Spool;
using Telemetry.Ingestion.Storage;

namespace Telemetry.Ingestion.Pipeline;

/// <summary>
/// The one reader of the <see cref="IngestQueue"/>: takes every message waiting (up to a cap), validates it, turns
/// readings and rejections into line protocol, makes the whole group durable with one fsync, then acknowledges the
/// group to the broker in arrival order once the alert engine has evaluated it too. Readings go to the alert engine
/// before the fsync, so alerting never waits for storage, and the two run side by side. While readings stream in
/// faster than <see cref="IngestionOptions.GroupCommitLingerAbove"/> a second, a group waits
/// <see cref="IngestionOptions.GroupCommitLinger"/> for more before its fsync: at 40,000 readings/s the groups otherwise
/// held the few dozen that arrived during the last fsync, ~900 fsyncs and acknowledgement writes a second, each ~80 µs
/// of CPU in the kernel alone.
/// </summary>
internal sealed partial class IngestProcessor(
    IngestQueue queue,
    MqttIngress ingress,
    DurableSpool spool,
    PointFactory points,
    IReadingObserver observer,
    RejectionLog rejectionLog,
    IngestMetrics metrics,
    IOptions<IngestionOptions> ingestion,
    IOptions<MqttOptions> mqtt,
    IOptions<SpoolOptions> spoolOptions,
    TimeProvider time,
    ILogger<IngestProcessor> logger) : BackgroundService
{
    /// <summary>How long a group's acknowledgement waits for the alert engine before the log says so.</summary>
    private static readonly TimeSpan SlowEvaluation = TimeSpan.FromSeconds(5);

    private readonly PayloadDecoder _decoder = new(ingestion.Value.ToLimits());
    private readonly string _root = mqtt.Value.TopicRoot;
    private readonly int _maxMessages = ingestion.Value.MaxBatchMessages;
    private readonly long _maxBytes = Math.Max(64 * 1024, spoolOptions.Value.SegmentBytes / 4);
    private readonly TimeSpan _linger = ingestion.Value.GroupCommitLinger;
    private readonly int _lingerAbove = ingestion.Value.GroupCommitLingerAbove;

    // The arrival rate that decides whether a group lingers: messages per second over the last whole window.
    private static readonly TimeSpan RateWindow = TimeSpan.FromMilliseconds(100);
    private long _windowStart;
    private int _windowMessages;
    private double _rate;
    private readonly List<Reading> _readings = new(64);
    private readonly List<Rejection> _rejections = new(8);

    // Topic -> parsed address: a sensor's topic is parsed once, not into new strings for every message.
    private const int MaxCachedTopics = 100_000;
    private readonly Dictionary<string, SensorAddress> _addresses = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        ingress.Drained = _drained.Task;
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watch = WatchEvaluationAsync(stoppingToken);
        var reader = queue.Reader;
        var group = new List<InboundMessage>(_maxMessages);
        var batch = new SpoolBatch();
        try
        {
            // Runs until the ingress completes the queue on shutdown; everything taken is then durable and acked.
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                group.Clear();
                batch.Clear();
                Take(reader, group, batch);
                if (_linger > TimeSpan.Zero && _rate >= _lingerAbove && !Full(group, batch))
                {
                    // Streaming: one fsync for what arrives meanwhile too. What arrives waits at most this long for
                    // its alert evaluation; below the rate, nothing waits.
                    await Task.Delay(_linger, time, CancellationToken.None); // on shutdown too: the group is still committed
                    Take(reader, group, batch);
                }
                NoteArrivals(group.Count);
                batch.CreatedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                // The alert engine evaluates the group while the spool makes it durable; both before the PUBACKs.
                var evaluated = observer.ReadingsEvaluatedAsync();
                await spool.AppendAsync(batch, stoppingToken);
                await observer.AcknowledgementsSavedAsync();
                metrics.ReadingsAccepted.Inc(batch.Readings);
                metrics.GroupCommits.Inc();
                await WaitEvaluatedAsync(evaluated);
                await ingress.AcknowledgeAsync(group);
                // A send that had to wait for the socket resumes on a socket engine's thread; the next group's fsync
                // must not hold that thread up (it also reads the broker's deliveries).
                await SocketEngine.ToThreadPool();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Hard stop while waiting for spool space: the group was not acknowledged, so the broker redelivers it.
        }
        finally
        {
            _drained.TrySetResult();
        }
        await watch;
    }

    // When the current group began to wait for the alert engine (a timestamp of the TimeProvider), 0 while it does not.
    private long _waitingSince;

    /// <summary>Waits for the alert engine; a fault means it stopped, and nothing more is acknowledged.</summary>
    private async Task WaitEvaluatedAsync(Task evaluated)
    {
        if (evaluated.IsCompleted)
        {
            await evaluated;
            return;
        }
        Volatile.Write(ref _waitingSince, time.GetTimestamp());
        try
        {
            await evaluated;
        }
        finally
        {
            Volatile.Write(ref _waitingSince, 0);
        }
    }

    /// <summary>
    /// Says in the log when acknowledgements wait long for the alert engine, since the broker then holds every message
    /// and nothing is stored either; checked once a second, off the processor's path.
    /// </summary>
    private async Task WatchEvaluationAsync(CancellationToken stoppingToken)
    {
        long stalled = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var since = Volatile.Read(ref _waitingSince);
            if (stalled == 0 && since != 0 && time.GetElapsedTime(since) >= SlowEvaluation)
            {
                stalled = since;
                EvaluationSlow(logger, Math.Floor(time.GetElapsedTime(since).TotalSeconds));
            }
            else if (stalled != 0 && since != stalled)
            {
                EvaluationCaughtUp(logger);
                stalled = 0;
            }
        }
    }

    [LoggerMessage(6001, LogLevel.Warning, "Acknowledgements to the broker have waited {Seconds} s for the alert engine to evaluate and save the readings (is the disk of Telemetry:Alerts:StateFile stalled?); the broker holds the messages meanwhile")]
    private static partial void EvaluationSlow(ILogger logger, double seconds);

    [LoggerMessage(6002, LogLevel.Information, "The alert engine caught up: acknowledging resumed")]
    private static partial void EvaluationCaughtUp(ILogger logger);

    private bool Full(List<InboundMessage> group, SpoolBatch batch) => group.Count >= _maxMessages || batch.Bytes >= _maxBytes;

    /// <summary>Takes and validates every message waiting, up to the group's caps.</summary>
    private void Take(ChannelReader<InboundMessage> reader, List<InboundMessage> group, SpoolBatch batch)
    {
        while (!Full(group, batch) && reader.TryRead(out var message))
        {
            group.Add(message);
            Process(message, batch);
        }
    }

    /// <summary>Counts a group's messages into the arrival rate, which is updated once a window has passed.</summary>
    private void NoteArrivals(int messages)
    {
        _windowMessages += messages;
        var now = time.GetTimestamp();
        var elapsed = time.GetElapsedTime(_windowStart, now);
        if (elapsed >= RateWindow)
        {
            // After a quiet spell the window is long and the rate low: the first groups of a burst do not linger.
            _rate = _windowMessages / elapsed.TotalSeconds;
            _windowStart = now;
            _windowMessages = 0;
        }
    }

    /// <summary>Validates one message into <paramref name="batch"/>: stored, quarantined, or both (SPEC §5).</summary>
    internal void Process(InboundMessage message, SpoolBatch batch)
    {
        if (observer.TryHandleControlMessage(message))
        {
            return;
        }
        if (!_addresses.TryGetValue(message.Topic, out var address))
        {
            if (!TopicPath.TryParse(message.Topic, _root, out address, out var topicError))
            {
                Reject(batch, message, new Rejection(RejectionReason.BadTopic, "", topicError));
                return;
            }
            // Valid topics only, and bounded: a flood of made-up sensor ids cannot grow it without limit.
            if (_addresses.Count < MaxCachedTopics)
            {
                _addresses[message.Topic] = address;
            }
        }
        if (!observer.IsKnownSensor(address, out var extraTags))
        {
            Reject(batch, message, new Rejection(RejectionReason.UnknownSensor, "", $"{address.Key} is not in the sensor registry (Telemetry:Registry:Strict)"));
            return;
        }
        _readings.Clear();
        _rejections.Clear();
        _decoder.Decode(message.Payload, address.Kind, message.ReceivedAtMs, _readings, _rejections);
        foreach (var rejection in _rejections)
        {
            Reject(batch, message, rejection);
        }
        if (_readings.Count == 0)
        {
            return;
        }
        foreach (var reading in _readings)
        {
            PointFactory.AddReading(batch, address, reading, extraTags);
        }
        observer.OnReadings(address, _readings);
    }

    private void Reject(SpoolBatch batch, InboundMessage message, Rejection rejection)
    {
        var detail = rejection.ReadingIndex >= 0 ? $"reading {rejection.ReadingIndex}: {rejection.Detail}" : rejection.Detail;
        batch.Add(points.Rejected(rejection.Reason, message.Topic, rejection.Field, detail, message.Payload), isReading: false);
        metrics.Rejected(rejection.Reason);
        rejectionLog.Note(rejection.Reason, message.Topic, rejection.Field, detail);
    }
}

/// <summary>
/// What the pipeline tells the rest of the service about each message: the seam where the sensor registry and the
/// alert engine plug in (SPEC §13: the engine consumes readings per sensor, in order, through an interface).
/// </summary>
internal interface IReadingObserver
{
    /// <summary>Consumes a message that is not a reading (an alert acknowledgement); true when it was one.</summary>
    bool TryHandleControlMessage(InboundMessage message);

    /// <summary>Completes once what the control messages handled so far did is durable: awaited before the group's PUBACKs.</summary>
    Task AcknowledgementsSavedAsync() => Task.CompletedTask;

    /// <summary>
    /// Completes once the readings passed to <see cref="OnReadings"/> so far are evaluated for alerts and what they changed
    /// is saved: awaited before the group's PUBACKs, so a crash means redelivery, not a missed alert.
    /// </summary>
    Task ReadingsEvaluatedAsync() => Task.CompletedTask;

    /// <summary>False for a sensor a strict registry does not know; otherwise the registry's extra tags (e.g. zone).</summary>
    bool IsKnownSensor(SensorAddress address, out IReadOnlyList<KeyValuePair<string, string>>? extraTags);

    /// <summary>Valid readings of one message, in message order. Must not block.</summary>
    void OnReadings(SensorAddress address, List<Reading> readings);
}
