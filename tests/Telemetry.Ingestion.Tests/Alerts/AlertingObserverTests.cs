using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Telemetry.Alerting;
using Telemetry.Alerting.Engine;
using Telemetry.Alerting.Registry;
using Telemetry.Alerting.State;
using Telemetry.Contracts;
using Telemetry.Ingestion.Alerts;
using Telemetry.Ingestion.Pipeline;

namespace Telemetry.Ingestion.Tests.Alerts;

public sealed class AlertingObserverTests
{
    /// <summary>An alert service whose acknowledgement is not durable yet (its snapshot is still being written).</summary>
    private sealed class SlowAlerts : IAlertService
    {
        public TaskCompletionSource<AckResult> Durable { get; } = new();
        public int Calls;
        public IReadOnlyList<ActiveAlert> ActiveAlerts() => [];
        public Task<AckResult> AcknowledgeAsync(string alertId, string by, string? note, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Durable.Task;
        }
        public IReadOnlyList<Silence> Silences() => [];
        public Task<Silence> AddSilenceAsync(Silence silence, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<Silence?> ExpireSilenceAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<bool> DeleteSilenceAsync(string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private sealed class NoPipeline : IAlertPipeline
    {
        public bool Post(SensorAddress sensor, IReadOnlyList<Reading> readings) => true;
        public ValueTask<bool> PostAsync(SensorAddress sensor, IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);
        public Task EvaluatedAsync() => Task.CompletedTask;
    }

    [Fact]
    public void MqttAck_IsHandedBackToTheGroup_OnlyOnceTheAcknowledgementIsDurable()
    {
        var alerts = new SlowAlerts();
        var observer = new AlertingObserver(new NoPipeline(), alerts, SensorRegistry.Empty, Options.Create(new AlertingOptions()), NullLogger<AlertingObserver>.Instance);
        var message = new InboundMessage("alerts/ack/kukes/t03/gas-0007/co-instant", Encoding.UTF8.GetBytes("""{"by":"ana"}"""), 0, null!, 1, 0);

        // IngestProcessor.Process: true = consumed; the group (this message in it) is PUBACKed after the spool append
        // and after AcknowledgementsSavedAsync.
        Assert.True(observer.TryHandleControlMessage(message));
        Assert.Equal(1, alerts.Calls);
        IReadingObserver asSeen = observer;
        var saved = asSeen.AcknowledgementsSavedAsync();
        Assert.False(saved.IsCompleted, "the group would be PUBACKed before the acknowledgement is durable");
        alerts.Durable.SetResult(AckResult.Acknowledged);
        Assert.True(saved.IsCompletedSuccessfully);
        Assert.True(asSeen.AcknowledgementsSavedAsync().IsCompleted);
    }
}
