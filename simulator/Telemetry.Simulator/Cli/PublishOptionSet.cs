using System.CommandLine;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;

namespace Telemetry.Simulator.Cli;

/// <summary>The options and the publishing loop every verb that talks to a broker shares.</summary>
internal sealed class PublishOptionSet
{
    public Option<BrokerEndpoint> Broker { get; } = CommonOptions.Broker();

    public Option<int> Connections { get; } = CommonOptions.Connections();

    public Option<int> InFlight { get; } = CommonOptions.InFlight();

    public Option<MQTTnet.Formatter.MqttProtocolVersion> Protocol { get; } = CommonOptions.Protocol();

    public void AddTo(Command command)
    {
        command.Options.Add(Broker);
        command.Options.Add(Connections);
        command.Options.Add(InFlight);
        command.Options.Add(Protocol);
    }

    public Task<MqttPublisher> ConnectAsync(ParseResult parse, CancellationToken ct, string clientIdPrefix = "tunnel-sim") =>
        MqttPublisher.ConnectAsync(parse.GetValue(Broker)!, new PublisherOptions
        {
            Connections = parse.GetValue(Connections),
            InFlightPerConnection = parse.GetValue(InFlight),
            Protocol = parse.GetValue(Protocol),
            ClientIdPrefix = clientIdPrefix,
        }, ct);

    /// <summary>
    /// Plays <paramref name="feed"/> with a progress line. An <paramref name="openEnded"/> feed is ended by Ctrl+C,
    /// which is then a normal finish: what was sent is still acknowledged before returning.
    /// </summary>
    public static async Task<(long Count, TimeSpan Elapsed)> PlayAsync(IEnumerable<FeedMessage> feed, MqttPublisher publisher, double speed,
        TimeProvider time, TextWriter output, bool openEnded, CancellationToken ct)
    {
        var sent = new Counter();
        var progress = ProgressReporter.Start(output, SimulatorCli.IsTerminal(output), sent, time);
        try
        {
            return (await FeedPlayer.PlayAsync(feed, publisher, speed, time, sent, ct), progress.Elapsed);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && openEnded)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await publisher.FlushAsync(grace.Token);
            return (sent.Value, progress.Elapsed);
        }
        finally
        {
            await progress.DisposeAsync();
        }
    }
}
