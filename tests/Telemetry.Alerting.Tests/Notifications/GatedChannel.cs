using Telemetry.Alerting.Notifications;
using Telemetry.Contracts.Alerts;

namespace Telemetry.Alerting.Tests.Notifications;

/// <summary>A channel that records each group it is handed; every group waits until <see cref="Gate"/> opens.</summary>
internal sealed class GatedChannel(bool coalesces = false, bool waits = false) : IAlertChannel
{
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<List<AlertEvent>> Groups { get; } = [];

    public string Name => "gated";

    public bool HonoursSilences => false;

    public bool CoalescesWhenBehind => coalesces;

    public bool WaitsWhenFull => waits;

    public Task SendAsync(AlertEvent alert, CancellationToken cancellationToken) => throw new InvalidOperationException("expected groups");

    public async Task SendManyAsync(IReadOnlyList<AlertEvent> alerts, Exception?[] failures, CancellationToken cancellationToken)
    {
        lock (Groups)
        {
            Groups.Add([.. alerts]);
        }
        await Gate.Task;
    }
}
