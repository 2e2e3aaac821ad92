using System.CommandLine;
using System.Globalization;
using Telemetry.Simulator.Generation;
using Telemetry.Simulator.Publishing;
using Telemetry.Simulator.Recording;

namespace Telemetry.Simulator.Cli;

/// <summary><c>replay</c>: publish a recorded feed at any speed, with rebased or original timestamps.</summary>
internal static class ReplayCommand
{
    public static (Command, string[]) Create(TimeProvider time)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "Recorded feed (JSON lines, as written by record)" };
        var speed = CommonOptions.Speed();
        var keep = new Option<bool>("--keep-timestamps") { Description = "Publish the recorded ts unchanged (default: shift them to now, keeping the gaps)" };
        var topicRoot = CommonOptions.TopicRoot();
        topicRoot.Description = "Replace the first topic segment of every message";
        var publishing = new PublishOptionSet();
        var command = new Command("replay", "Publish a recorded feed to an MQTT broker. Timestamps inside the payloads are shifted so the feed happens now (its last reading stamped when it is sent), unless --keep-timestamps.")
        {
            file, speed, keep, topicRoot,
        };
        publishing.AddTo(command);
        command.SetAction((parse, ct) => SimulatorCli.GuardAsync(parse, async (output, token) =>
        {
            var path = parse.GetRequiredValue(file).FullName;
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"no such recorded feed: {path}");
            }
            var x = parse.GetValue(speed);
            var root = parse.GetValue(topicRoot);
            long shift = 0;
            if (!parse.GetValue(keep))
            {
                // One pass for the recording's length and start; the replay itself streams the file again.
                long lastOffset = 0;
                foreach (var m in FeedFile.Read(path))
                {
                    lastOffset = m.OffsetMs;
                }
                var recordedStart = TimestampRebaser.EstimateStartMs(FeedFile.Read(path).Select(m => (m.OffsetMs, m.Payload)));
                var start = FeedPlayer.VirtualStart(time.GetUtcNow(), TimeSpan.FromMilliseconds(lastOffset), x);
                shift = recordedStart is { } s ? start.ToUnixTimeMilliseconds() - s : 0;
            }
            var feed = FeedFile.Read(path).Select(m => m with
            {
                Topic = root is null ? m.Topic : ReplaceRoot(m.Topic, root),
                Payload = TimestampRebaser.Shift(m.Payload, shift),
            });
            await using var publisher = await publishing.ConnectAsync(parse, token);
            var (count, elapsed) = await PublishOptionSet.PlayAsync(feed, publisher, x, time, output, openEnded: false, token);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"replayed {count:N0} messages in {elapsed.TotalSeconds:0.0} s (timestamps {(shift == 0 ? "as recorded" : $"shifted by {TimeSpan.FromMilliseconds(shift):d\\.hh\\:mm\\:ss}")})"));
            return SimulatorCli.Ok;
        }, ct));
        return (command,
        [
            "Telemetry.Simulator replay leak.jsonl",
            "Telemetry.Simulator replay baseline-8h.jsonl --speed 100 --broker 127.0.0.1:1883",
            "Telemetry.Simulator replay bad.jsonl --speed max --keep-timestamps --topic-root test42",
        ]);
    }

    internal static string ReplaceRoot(string topic, string root)
    {
        var slash = topic.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? root : root + topic[slash..];
    }
}
