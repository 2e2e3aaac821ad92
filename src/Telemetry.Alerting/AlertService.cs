using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Notifications;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.Rules;
using Telemetry.Alerting.State;
using Telemetry.Contracts;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting;

/// <summary>The ingestion hot path's door into alerting.</summary>
public interface IAlertPipeline
{
    /// <summary>
    /// Queues one message's readings of one sensor for evaluation, in the order posted. Returns at once while the
    /// queue has room; when full it waits up to <c>Telemetry:Alerts:PostTimeout</c> (backpressure: the caller holds
    /// its broker acknowledgement meanwhile), then drops, counts and logs the message and returns false. The list is
    /// copied (the caller may reuse it); the readings are not, so they must not be changed after posting.
    /// </summary>
    bool Post(SensorAddress sensor, IReadOnlyList<Reading> readings);

    /// <summary><see cref="Post"/> without blocking a thread while the queue is full.</summary>
    ValueTask<bool> PostAsync(SensorAddress sensor, IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes once every message posted before the call has been evaluated and the alert state it changed saved.
    /// The ingestion acknowledges a message to the broker only then (SPEC §8): a crash before it means the broker
    /// delivers the message again, not a stored reading whose alert was never raised. Faults if the alert service failed
    /// or stopped first, so that nothing is acknowledged unevaluated.
    /// </summary>
    Task EvaluatedAsync();
}

/// <summary>What people do with alerts: look, acknowledge, silence (HTTP API, MQTT <c>alerts/ack/…</c>).</summary>
public interface IAlertService
{
    IReadOnlyList<ActiveAlert> ActiveAlerts();

    Task<AckResult> AcknowledgeAsync(string alertId, string by, string? note, CancellationToken cancellationToken = default);

    IReadOnlyList<Silence> Silences();

    Task<Silence> AddSilenceAsync(Silence silence, CancellationToken cancellationToken = default);

    Task<Silence?> ExpireSilenceAsync(string id, CancellationToken cancellationToken = default);

    Task<bool> DeleteSilenceAsync(string id, CancellationToken cancellationToken = default);
}

/// <summary>
/// The alert service: one loop evaluates queued readings in order, lets the clock act every <c>TickInterval</c>,
/// saves the state (before dispatching, so a crash never re-raises) and hands each event to every channel's own queue.
/// </summary>
internal sealed class AlertService : BackgroundService, IAlertPipeline, IAlertService
{
    private const int MaxBatch = 1024;

    /// <summary>A journal this long is folded into a snapshot even before <c>SaveInterval</c>: bounds the replay at restart.</summary>
    private const long MaxJournalBytes = 8 << 20;

    private readonly AlertingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertService> _logger;
    private readonly AlertMetrics _metrics;
    private readonly Channel<(SensorAddress Sensor, Reading[] Readings)> _queue;
    private readonly AlertEngine _engine;
    private readonly Lock _engineLock = new();
    // One journal append or rotation at a time; one snapshot at a time (a periodic one runs beside the loop).
    private readonly SemaphoreSlim _journalLock = new(1, 1);
    private readonly SemaphoreSlim _snapshotLock = new(1, 1);
    // One batch (evaluation or acknowledgement) from the engine to the channels at a time, so events keep their order.
    private readonly SemaphoreSlim _batchLock = new(1, 1);
    private Task _background = Task.CompletedTask;
    private readonly SilenceStore _silences = new();
    private readonly List<ChannelWorker> _workers = [];
    private readonly bool _restateRetained;
    private readonly IMqttPublisher? _publisher;
    private Task _reconcile = Task.CompletedTask;
    // While the broker's retained alerts are read: the alerts that had events MQTT retains (not repeats, not backlog)
    // dispatched meanwhile (under _batchLock; null again once the corrections are handed over).
    private HashSet<string>? _dispatchedSinceRead;
    private readonly CancellationTokenSource _channelsStop = new();
    private readonly StateJournal _journal;
    private long _journalSeq;
    private bool _snapshotDue;
    private bool _windowsDirty;
    private long _lastSaveMs;
    private readonly LogThrottle _fullLog = new(TimeSpan.FromSeconds(10));

    // Messages posted so far, taken by the loop, and evaluated and saved; EvaluatedAsync's callers wait, each for the
    // count of posts it has seen.
    private long _posted;
    private long _taken;
    private long _evaluated;
    private Exception? _stopped;
    private readonly Lock _postLock = new();
    private readonly Lock _waitersLock = new();
    private readonly PriorityQueue<TaskCompletionSource, long> _waiters = new();

    public AlertService(IOptions<AlertingOptions> options, IOptions<AlertRules> rules, SensorRegistry registry, TimeProvider time,
        ILoggerFactory loggers, AlertMetrics metrics, IHttpClientFactory http, IEnumerable<IAlertChannel> extraChannels, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggers);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(services);
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = loggers.CreateLogger<AlertService>();
        _queue = Channel.CreateBounded<(SensorAddress, Reading[])>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _journal = new StateJournal(_options.StateFile);
        // The first window-only snapshot comes SaveInterval after start; transitions go to the journal meanwhile.
        _lastSaveMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var restored = Restore();
        _engine = AlertEngine.Create(rules.Value, registry, time, _options.MaxHold, restored?.Engine);

        var channels = new List<IAlertChannel> { new LogAlertChannel(loggers.CreateLogger<LogAlertChannel>()) };
        if (services.GetService<IMqttPublisher>() is { } publisher)
        {
            channels.Add(new MqttAlertChannel(publisher, _options.TopicRoot));
            _restateRetained = !publisher.RetainedOutlivesService;
            _publisher = publisher;
        }
        if (services.GetService<IAlertPointWriter>() is { } writer)
        {
            channels.Add(new InfluxAlertChannel(writer));
        }
        for (var i = 0; i < _options.Webhooks.Count; i++)
        {
            channels.Add(new WebhookAlertChannel(() => http.CreateClient(HttpClientName), _options.Webhooks[i], time, _logger, i));
        }
        if (!string.IsNullOrWhiteSpace(_options.Email.Host))
        {
            channels.Add(new EmailAlertChannel(_options.Email, time, _logger));
        }
        channels.AddRange(extraChannels);
        foreach (var c in channels)
        {
            var rate = c is MqttAlertChannel && _options.MqttEventsPerSecond > 0
                ? new EventRate(_options.MqttEventsPerSecond, 2 * _options.MqttEventsPerSecond, time)
                : null;
            _workers.Add(new ChannelWorker(c, _options.ChannelQueueCapacity, _logger, metrics, _options.ChannelFullWait, time, rate));
        }
    }

    internal const string HttpClientName = "Telemetry.Alerting.Webhook";

    /// <summary>The channels events go to, by name (log, mqtt, influxdb, webhook-0…, email, …).</summary>
    public IReadOnlyList<string> ChannelNames => _workers.Select(w => w.Channel.Name).ToList();

    public bool Post(SensorAddress sensor, IReadOnlyList<Reading> readings)
    {
        var item = (sensor, Copy(readings));
        return TryWrite(item) || WaitForRoomAsync(item, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    public ValueTask<bool> PostAsync(SensorAddress sensor, IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default)
    {
        var item = (sensor, Copy(readings));
        return TryWrite(item) ? ValueTask.FromResult(true) : WaitForRoomAsync(item, cancellationToken);
    }

    // Written and counted as one step, so that the count of posts never runs ahead of, or behind, the queue's order.
    private bool TryWrite((SensorAddress Sensor, Reading[] Readings) item)
    {
        lock (_postLock)
        {
            if (!_queue.Writer.TryWrite(item))
            {
                return false;
            }
            Interlocked.Increment(ref _posted);
            return true;
        }
    }

    public Task EvaluatedAsync()
    {
        // Every post the caller made is in this count: TryWrite counts it before it returns.
        var upto = Interlocked.Read(ref _posted);
        lock (_waitersLock)
        {
            if (_evaluated >= upto)
            {
                return Task.CompletedTask;
            }
            if (_stopped is not null)
            {
                return Task.FromException(_stopped);
            }
            // Resumed on the thread pool: the caller's continuation (the broker's acknowledgements) must not run on the loop.
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(done, upto);
            return done.Task;
        }
    }

    /// <summary>Everything taken from the queue so far is evaluated and saved: releases who waits for it.</summary>
    private void MarkEvaluated()
    {
        lock (_waitersLock)
        {
            _evaluated = _taken;
            while (_waiters.TryPeek(out var done, out var upto) && upto <= _evaluated)
            {
                _waiters.Dequeue();
                done.SetResult();
            }
        }
    }

    /// <summary>Nothing more will be evaluated: whoever waits, or comes to wait, gets <paramref name="reason"/>.</summary>
    private void StopEvaluating(Exception reason)
    {
        lock (_waitersLock)
        {
            _stopped = reason;
            while (_waiters.TryDequeue(out var done, out _))
            {
                done.SetException(reason);
            }
        }
    }

    private async ValueTask<bool> WaitForRoomAsync((SensorAddress Sensor, Reading[] Readings) item, CancellationToken cancellationToken)
    {
        // A safety system should rather slow ingestion down (the broker holds the messages) than skip evaluation.
        _metrics.Full();
        if (_fullLog.TryEnter(_time.GetUtcNow().ToUnixTimeMilliseconds(), out _))
        {
            Log.QueueFull(_logger, _options.PostTimeout.TotalMilliseconds);
        }
        using var timeout = new CancellationTokenSource(_options.PostTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            while (await _queue.Writer.WaitToWriteAsync(linked.Token))
            {
                if (TryWrite(item))
                {
                    return true;
                }
            }
            return false;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            _metrics.Drop();
            Log.QueueDropped(_logger, _options.PostTimeout.TotalMilliseconds, item.Sensor.Key, _metrics.Dropped);
            return false;
        }
    }

    public IReadOnlyList<ActiveAlert> ActiveAlerts()
    {
        lock (_engineLock)
        {
            return _engine.ActiveAlerts();
        }
    }

    public async Task<AckResult> AcknowledgeAsync(string alertId, string by, string? note, CancellationToken cancellationToken = default)
    {
        var events = new List<AlertEvent>();
        AckResult result;
        // In turn with the loop's batches: an acknowledgement's event must not reach the channels after a later clear.
        await _batchLock.WaitAsync(cancellationToken);
        try
        {
            lock (_engineLock)
            {
                result = _engine.Acknowledge(alertId, by, note, events);
            }
            if (result == AckResult.Acknowledged)
            {
                // Durable before it is confirmed (HTTP 200, MQTT PUBACK): a journal record, or else a snapshot.
                if (!await AppendJournalAsync(events) && !await SnapshotAsync())
                {
                    lock (_engineLock)
                    {
                        _engine.Unacknowledge(alertId, by);
                    }
                    throw new IOException($"the acknowledgement of {alertId} could not be saved");
                }
                Log.Acknowledged(_logger, alertId, by);
                await DispatchAsync(events);
            }
        }
        finally
        {
            _batchLock.Release();
        }
        return result;
    }

    public IReadOnlyList<Silence> Silences() => _silences.List();

    public async Task<Silence> AddSilenceAsync(Silence silence, CancellationToken cancellationToken = default)
    {
        _silences.Add(silence);
        if (!await SnapshotAsync())
        {
            _silences.Delete(silence.Id);
            throw new IOException($"the silence {silence.Id} could not be saved");
        }
        return silence;
    }

    public async Task<Silence?> ExpireSilenceAsync(string id, CancellationToken cancellationToken = default)
    {
        var s = _silences.Expire(id, _time.GetUtcNow());
        if (s is not null && !await SnapshotAsync())
        {
            throw new IOException($"the expiry of silence {id} could not be saved");
        }
        return s;
    }

    public async Task<bool> DeleteSilenceAsync(string id, CancellationToken cancellationToken = default)
    {
        var deleted = _silences.Delete(id);
        if (deleted && !await SnapshotAsync())
        {
            throw new IOException($"the deletion of silence {id} could not be saved");
        }
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken);
        }
        catch (Exception ex)
        {
            // The host stops on this; meanwhile the ingestion acknowledges nothing more, so the broker keeps it all.
            StopEvaluating(new InvalidOperationException("the alert service failed", ex));
            throw;
        }
    }

    /// <summary>The service's loop, then its shutdown once <paramref name="stoppingToken"/> is cancelled.</summary>
    internal async Task RunAsync(CancellationToken stoppingToken)
    {
        if (_snapshotDue)
        {
            // Fold what the journal replayed into a fresh snapshot, so the next restart reads one file.
            await SnapshotAsync();
        }
        foreach (var w in _workers)
        {
            // Channels get their own token: on shutdown they may still deliver the last events (bounded below).
            w.Start(_channelsStop.Token);
        }
        if (_restateRetained)
        {
            // A broker whose retained messages ended with us (the embedded one) knows none of the alerts we restored:
            // state each again, on MQTT only, so an app connecting now sees every active alert (SPEC §7.4).
            var states = new List<AlertEvent>();
            lock (_engineLock)
            {
                _engine.CurrentStates(states);
            }
            foreach (var w in _workers.Where(w => w.Channel is MqttAlertChannel))
            {
                foreach (var e in states)
                {
                    await w.EnqueueAsync(e);
                }
            }
        }
        else if (_publisher is not null && _workers.FirstOrDefault(w => w.Channel is MqttAlertChannel) is { } mqtt)
        {
            // A broker that kept our retained messages may still show what a crash kept us from publishing.
            _reconcile = ReconcileRetainedAsync(_publisher, mqtt, stoppingToken);
        }
        Task<bool>? read = null;
        var tick = Task.Delay(_options.TickInterval, _time, stoppingToken);
        var events = new List<AlertEvent>();
        while (!stoppingToken.IsCancellationRequested)
        {
            read ??= _queue.Reader.WaitToReadAsync(stoppingToken).AsTask();
            await Task.WhenAny(read, tick);
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            await _batchLock.WaitAsync(CancellationToken.None);
            try
            {
                if (read.IsCompleted)
                {
                    read = null;
                    Drain(events);
                }
                if (tick.IsCompleted)
                {
                    tick = Task.Delay(_options.TickInterval, _time, stoppingToken);
                    lock (_engineLock)
                    {
                        _engine.Tick(events);
                    }
                }
                await PersistAsync(events);
                // Saved (or, on a failing disk, logged as not): the messages may be acknowledged to the broker.
                MarkEvaluated();
                await DispatchAsync(events);
                events.Clear();
            }
            finally
            {
                _batchLock.Release();
            }
        }
        await _reconcile;
        // Shutting down: evaluate all that was already queued (ingestion, stopped before us, acknowledged it to the
        // broker: it will not come again), save, and give the channels a moment to deliver.
        await _batchLock.WaitAsync(CancellationToken.None);
        try
        {
            while (_queue.Reader.TryPeek(out _))
            {
                Drain(events);
            }
            await SnapshotAsync();
            MarkEvaluated();
            await DispatchAsync(events);
        }
        finally
        {
            _batchLock.Release();
            // What is posted from now on is not evaluated: its poster must not acknowledge it.
            StopEvaluating(new InvalidOperationException("the alert service has stopped"));
        }
        await Task.WhenAll(_workers.Select(w => w.StopAsync(TimeSpan.FromSeconds(5))));
        await _channelsStop.CancelAsync();
        foreach (var w in _workers)
        {
            var name = w.Channel.Name;
            Log.ChannelTotals(_logger, name, _metrics.Channel(name, "delivered"), _metrics.Channel(name, "superseded"), _metrics.Channel(name, "dropped"), _metrics.Channel(name, "failed"), _metrics.Channel(name, "silenced"));
        }
    }

    /// <summary>
    /// Reads the broker's retained alerts (retrying while it is away) and hands MQTT what they lack, in turn with the
    /// loop's batches so that a correction never lands after a newer event of the same alert.
    /// </summary>
    private async Task ReconcileRetainedAsync(IMqttPublisher publisher, ChannelWorker mqtt, CancellationToken stoppingToken)
    {
        try
        {
            await ReconcileRetainedOnceAsync(publisher, mqtt, stoppingToken);
        }
        finally
        {
            _dispatchedSinceRead = null;
        }
    }

    private async Task ReconcileRetainedOnceAsync(IMqttPublisher publisher, ChannelWorker mqtt, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _batchLock.WaitAsync(stoppingToken);
                _dispatchedSinceRead = new HashSet<string>(StringComparer.Ordinal);
                _batchLock.Release();
                if (await publisher.RetainedAsync(_options.TopicRoot + "/+/+/+/+", stoppingToken) is not { } messages)
                {
                    return;
                }
                var retained = new Dictionary<string, AlertEvent>(StringComparer.Ordinal);
                foreach (var (topic, payload) in messages)
                {
                    if (ReadRetained(payload) is { } e && topic == $"{_options.TopicRoot}/{e.AlertId}")
                    {
                        retained[e.AlertId] = e;
                    }
                }
                var corrections = new List<AlertEvent>();
                await _batchLock.WaitAsync(stoppingToken);
                try
                {
                    lock (_engineLock)
                    {
                        _engine.RetainedCorrections(retained, corrections);
                    }
                    // An alert with an event since the read is being published as it is now: the read is older than that.
                    corrections.RemoveAll(e => _dispatchedSinceRead!.Contains(e.AlertId));
                    foreach (var e in corrections)
                    {
                        await mqtt.EnqueueAsync(e);
                    }
                }
                finally
                {
                    _batchLock.Release();
                }
                Log.RetainedReconciled(_logger, retained.Count, corrections.Count);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.RetainedUnread(_logger, ex.Message, delay.TotalSeconds);
                try
                {
                    await Task.Delay(delay, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
    }

    private static AlertEvent? ReadRetained(byte[] payload)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<AlertEvent>(payload, AlertJson.Options);
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // not ours: left alone
        }
    }

    private void Drain(List<AlertEvent> events)
    {
        lock (_engineLock)
        {
            for (var n = 0; n < MaxBatch && _queue.Reader.TryRead(out var item); n++)
            {
                _engine.Evaluate(item.Sensor, item.Readings, events);
                _windowsDirty = true;
                _taken++;
            }
        }
    }

    private async ValueTask DispatchAsync(List<AlertEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }
        _metrics.Emitted(events.Count);
        var now = _time.GetUtcNow();
        foreach (var e in events)
        {
            if (!e.Repeat && !e.Backlog)
            {
                // Only an event MQTT retains stands for the alert's state; a repeat or a backlog episode leaves it as it was.
                _dispatchedSinceRead?.Add(e.AlertId);
            }
            foreach (var w in _workers)
            {
                if (w.Channel.HonoursSilences && _silences.IsSilenced(e, now))
                {
                    _metrics.Silenced(w.Channel.Name);
                    continue;
                }
                await w.EnqueueAsync(e);
            }
        }
    }

    /// <summary>
    /// Makes a batch durable before it is dispatched: its transitions as one journal record (what they changed, flushed
    /// to the disk). The whole state goes to a snapshot at most every SaveInterval, or once the journal has grown long,
    /// written beside the loop (the journal keeps what changes meanwhile); only when the journal cannot take a batch
    /// does the loop wait for a snapshot of it.
    /// </summary>
    private async Task PersistAsync(List<AlertEvent> events)
    {
        if ((events.Count > 0 || HasChangesWithoutEvent()) && !await AppendJournalAsync(events))
        {
            await SnapshotAsync();
            return;
        }
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = (_windowsDirty && now - _lastSaveMs >= (long)_options.SaveInterval.TotalMilliseconds) || _journal.Length >= MaxJournalBytes;
        if (due && _background.IsCompleted)
        {
            _lastSaveMs = now;
            _background = Task.Run(async () => await SnapshotAsync());
        }
    }

    private bool HasChangesWithoutEvent()
    {
        lock (_engineLock)
        {
            return _engine.ChangedWithoutEvent.Count > 0;
        }
    }

    private async Task<bool> AppendJournalAsync(List<AlertEvent> events)
    {
        await _journalLock.WaitAsync();
        try
        {
            ReadOnlyMemory<byte> bytes;
            var record = new JournalRecord { Seq = _journalSeq + 1 };
            var journaled = new List<(RuleState Rule, long Episodes)>();
            lock (_engineLock)
            {
                record.Changes = Changes(events, journaled);
                bytes = _journal.Serialize(record);
            }
            _journal.Append(bytes.Span);
            _journalSeq = record.Seq;
            // Only now do later records leave these episodes out; had the append failed, the snapshot instead holds them.
            lock (_engineLock)
            {
                foreach (var (rule, episodes) in journaled)
                {
                    rule.EpisodesJournaled = Math.Max(rule.EpisodesJournaled, episodes);
                }
            }
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            _metrics.SaveFailed();
            Log.SaveFailed(_logger, ex, _journal.FilePath);
            return false;
        }
        finally
        {
            _journalLock.Release();
        }
    }

    // The rules the batch's events changed, and those the engine changed without an event, each once, in their state after
    // the batch (windows left to the snapshot, and episodes an earlier record holds left to it); each rule with the count
    // of episodes the record holds up to.
    private List<JournalChange> Changes(List<AlertEvent> events, List<(RuleState Rule, long Episodes)> journaled)
    {
        var changes = new List<JournalChange>();
        var seen = new HashSet<(string, string, string, string)>();
        // What changed without an event goes with this record (or, should it fail, with the snapshot instead).
        var changed = events.Select(e => (e.Site, e.Tunnel, e.Sensor, e.Rule))
            .Concat(_engine.ChangedWithoutEvent.Select(c => (c.Sensor.Site, c.Sensor.Tunnel, c.Sensor.Sensor, c.Rule)))
            .ToList();
        _engine.ChangedWithoutEvent.Clear();
        foreach (var (site, tunnel, sensor, ruleId) in changed)
        {
            if (!seen.Add((site, tunnel, sensor, ruleId)) || _engine.SensorOf(site, tunnel, sensor) is not { } s)
            {
                continue;
            }
            var rule = s.Rules.GetValueOrDefault(ruleId);
            if (rule is not null)
            {
                journaled.Add((rule, rule.EpisodesAdded));
            }
            changes.Add(new JournalChange
            {
                Site = s.Site,
                Tunnel = s.Tunnel,
                Kind = s.Kind,
                Sensor = s.Sensor,
                NewestMs = s.NewestMs,
                LastSeenMs = s.LastSeenMs,
                Rule = ruleId,
                State = rule?.ForJournal(),
            });
        }
        return changes;
    }

    /// <summary>
    /// Writes the whole state (acknowledgements, silences, start and shutdown wait for it; the periodic one runs beside
    /// the loop). The journal's records so far are set apart first and deleted once the snapshot holds them, so what is
    /// journaled while it is written stays in the journal; the engine waits only for a few sensors at a time.
    /// </summary>
    private async Task<bool> SnapshotAsync()
    {
        await _snapshotLock.WaitAsync();
        try
        {
            long seq;
            await _journalLock.WaitAsync();
            try
            {
                seq = _journalSeq;
                _journal.Rotate();
            }
            finally
            {
                _journalLock.Release();
            }
            lock (_engineLock)
            {
                _windowsDirty = false;
            }
            _lastSaveMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            // On a thread of its own (one every SaveInterval): the service's thread pool keeps one worker per core, and a
            // snapshot's writes and fsync on a busy disk would hold one of them for as long as they take.
            var silences = _silences.List();
            await Task.Factory.StartNew(
                () => StateFile.Save(_options.StateFile, _engine.State, _engineLock, silences, seq),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            _journal.DropPrevious();
            _snapshotDue = false;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The journal keeps every record since the last snapshot that made it; the next one tries again.
            _metrics.SaveFailed();
            Log.SaveFailed(_logger, ex, _options.StateFile);
            return false;
        }
        finally
        {
            _snapshotLock.Release();
        }
    }

    private PersistedState? Restore()
    {
        var path = _options.StateFile;
        try
        {
            var state = StateFile.Load(path);
            var records = _journal.Read(state?.JournalSeq ?? 0, out var unreadable);
            _journalSeq = state?.JournalSeq ?? 0;
            if (records.Count > 0)
            {
                state ??= new PersistedState();
                StateJournal.Apply(state.Engine, records);
                _journalSeq = records[^1].Seq;
                _snapshotDue = true;
            }
            // Records set apart for a snapshot that did not make it: the next one that does deletes them.
            _snapshotDue |= _journal.HasPrevious;
            if (unreadable > 0)
            {
                Log.JournalTail(_logger, _journal.FilePath, unreadable, records.Count);
                _journal.DropUnreadableTail();
            }
            if (state is not null)
            {
                _silences.Restore(state.Silences, _time.GetUtcNow());
                Log.StateRestored(_logger, path, state.Engine.Sensors.Count,
                    state.Engine.Sensors.Sum(s => s.Rules.Values.Count(r => r.Level != AlertLevel.Normal)), state.Silences.Count, records.Count);
            }
            return state;
        }
        catch (System.Text.Json.JsonException ex)
        {
            // Refusing to start would leave the tunnels without any alerting; starting empty may raise active alerts
            // again, which is the lesser harm. The unreadable file is kept for a person to look at.
            var suffix = $".unreadable-{_time.GetUtcNow().ToUnixTimeSeconds()}";
            var moved = path + suffix;
            File.Move(path, moved, overwrite: true);
            // Its journal only makes sense on top of it: kept aside with it.
            _journal.MoveAside(suffix);
            Log.StateUnreadable(_logger, ex, path, moved);
            return null;
        }
    }

    private static Reading[] Copy(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        // The list, not the readings: the caller reuses its list, but a reading is never changed once decoded.
        var copy = new Reading[readings.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = readings[i];
        }
        return copy;
    }

    public override void Dispose()
    {
        _journalLock.Dispose();
        _batchLock.Dispose();
        _snapshotLock.Dispose();
        _channelsStop.Dispose();
        _journal.Dispose();
        base.Dispose();
    }
}
