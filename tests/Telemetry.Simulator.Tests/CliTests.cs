using System.Buffers;
using System.Globalization;
using System.Text;
using Telemetry.Contracts;
using Telemetry.Simulator.Cli;
using Telemetry.Simulator.Recording;
using Telemetry.Testing;

namespace Telemetry.Simulator.Tests;

/// <summary>One real mosquitto for the CLI tests; each test owns its topic root.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public MosquittoServer Broker { get; private set; } = null!;

    public string Endpoint => $"{Broker.Host}:{Broker.Port.ToString(CultureInfo.InvariantCulture)}";

    public async Task InitializeAsync() => Broker = await MosquittoServer.StartAsync();

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

public sealed class CliTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static async Task<(int Code, string Out, string Err)> Cli(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await SimulatorCli.InvokeAsync(args, output, error, TimeProvider.System);
        return (code, output.ToString(), error.ToString());
    }

    private static string UniqueRoot() => "sim" + Guid.NewGuid().ToString("N")[..10];

    [Theory]
    [InlineData("run")]
    [InlineData("record")]
    [InlineData("replay")]
    [InlineData("load")]
    public async Task Help_OfEachVerb_ShowsOptionsAndExamples(string verb)
    {
        var (code, output, _) = await Cli(verb, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        var examples = output[output.IndexOf("Examples:", StringComparison.Ordinal)..];
        Assert.Contains($"Telemetry.Simulator {verb} ", examples, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_Twice_WritesIdenticalFiles_AndANewSeedChangesThem()
    {
        using var dir = new TempDir("rec");
        var scenario = TestFeeds.Scenario("sensor-faults");
        Assert.Equal(0, (await Cli("record", "--scenario", scenario, "--seed", "5", "--duration", "3m", "--out", dir.Combine("a.jsonl"))).Code);
        Assert.Equal(0, (await Cli("record", "--scenario", scenario, "--seed", "5", "--duration", "3m", "--out", dir.Combine("b.jsonl"))).Code);
        Assert.Equal(0, (await Cli("record", "--scenario", scenario, "--seed", "6", "--duration", "3m", "--out", dir.Combine("c.jsonl"))).Code);
        var a = await File.ReadAllBytesAsync(dir.Combine("a.jsonl"));
        Assert.Equal(a, await File.ReadAllBytesAsync(dir.Combine("b.jsonl")));
        Assert.NotEqual(a, await File.ReadAllBytesAsync(dir.Combine("c.jsonl")));
    }

    [Fact]
    public async Task Record_InvalidScenario_ExitsWithFileLineAndReason()
    {
        using var dir = new TempDir("rec");
        var path = dir.Combine("broken.yaml");
        await File.WriteAllTextAsync(path, "sites:\n  - id: s\n    tunnels:\n      - id: t\n        length_m: -5\n");
        var (code, _, error) = await Cli("record", "--scenario", path, "--duration", "1m", "--out", dir.Combine("x.jsonl"));
        Assert.Equal(SimulatorCli.BadInput, code);
        Assert.Contains($"{path}:5:", error, StringComparison.Ordinal);
        Assert.Contains("'length_m' -5 is outside", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_BadDuration_IsAUsageError()
    {
        var (code, _, error) = await Cli("record", "--scenario", "x.yaml", "--duration", "soon", "--out", "x.jsonl");
        Assert.NotEqual(0, code);
        Assert.Contains("--duration: 'soon' is not a duration", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordThenReplay_DeliversEveryMessage_WithTimestampsRebasedToNow()
    {
        using var dir = new TempDir("replay");
        var file = dir.Combine("leak.jsonl");
        var root = UniqueRoot();
        Assert.Equal(0, (await Cli("record", "--scenario", TestFeeds.Scenario("logger-backlog"), "--duration", "15m", "--out", file, "--topic-root", root)).Code);
        var recorded = FeedFile.Read(file).ToList();

        await using var subscriber = await MqttTestClient.ConnectAsync(fixture.Broker.Host, fixture.Broker.Port);
        await subscriber.SubscribeAsync(root + "/#");
        var before = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        var (code, output, error) = await Cli("replay", file, "--speed", "max", "--broker", fixture.Endpoint);
        Assert.True(code == 0, error);
        Assert.Contains($"replayed {recorded.Count:N0} messages", output, StringComparison.Ordinal);
        await Poll.UntilAsync(() => subscriber.Received.Count >= recorded.Count, $"{recorded.Count} replayed messages");
        var after = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

        var received = subscriber.Received.ToList();
        Assert.Equal(recorded.Count, received.Count);
        var recordedTs = new List<long>();
        var replayedTs = new List<long>();
        foreach (var (rec, got) in recorded.OrderBy(m => m.Topic, StringComparer.Ordinal).ThenBy(m => m.OffsetMs)
                     .Zip(received.OrderBy(m => m.Topic, StringComparer.Ordinal).ThenBy(m => First(m.Payload.ToArray()))))
        {
            Assert.Equal(rec.Topic, got.Topic);
            recordedTs.AddRange(AllTs(rec.Payload));
            replayedTs.AddRange(AllTs(got.Payload.ToArray()));
        }
        // Every reading moved by the same shift, and the last one landed at the moment of the replay.
        var shifts = recordedTs.Zip(replayedTs, (r, p) => p - r).Distinct().ToList();
        Assert.Single(shifts);
        Assert.InRange(replayedTs.Max(), before - 1000, after + 1000);
        Assert.Contains(received, m => m.Payload[0] == (byte)'[');

        static long First(byte[] payload) => AllTs(payload).Min();
    }

    [Fact]
    public async Task Replay_KeepTimestamps_PublishesTheRecordedBytes()
    {
        using var dir = new TempDir("replay");
        var file = dir.Combine("bad.jsonl");
        Assert.Equal(0, (await Cli("record", "--scenario", TestFeeds.Scenario("malformed-payloads"), "--duration", "70s", "--out", file)).Code);
        var root = UniqueRoot();
        await using var subscriber = await MqttTestClient.ConnectAsync(fixture.Broker.Host, fixture.Broker.Port);
        await subscriber.SubscribeAsync(root + "/#");
        var (code, _, error) = await Cli("replay", file, "--speed", "max", "--keep-timestamps", "--topic-root", root, "--broker", fixture.Endpoint);
        Assert.True(code == 0, error);
        var recorded = FeedFile.Read(file).ToList();
        await Poll.UntilAsync(() => subscriber.Received.Count >= recorded.Count, "replayed messages");
        var got = subscriber.Received.Select(m => Convert.ToBase64String(m.Payload.ToArray())).Order(StringComparer.Ordinal);
        Assert.Equal(recorded.Select(m => Convert.ToBase64String(m.Payload)).Order(StringComparer.Ordinal), got);
        Assert.Contains(subscriber.Received, m => m.Topic.Contains("/vibration/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Record_FromBroker_CapturesWhatItCarries_IncludingBinary()
    {
        using var dir = new TempDir("capture");
        var file = dir.Combine("capture.jsonl");
        var root = UniqueRoot();
        var output = new StringWriter();
        var console = TextWriter.Synchronized(output);
        var recording = SimulatorCli.InvokeAsync(["record", "--subscribe", root + "/#", "--duration", "3s", "--out", file, "--broker", fixture.Endpoint],
            console, TextWriter.Null, TimeProvider.System);
        await Poll.UntilAsync(() => output.ToString().Contains("recording", StringComparison.Ordinal) || recording.IsCompleted, "the recorder to subscribe");
        await using (var publisher = await MqttTestClient.ConnectAsync(fixture.Broker.Host, fixture.Broker.Port))
        {
            await publisher.PublishAsync(root + "/kukes/t01/gas/gas-0001", "{\"values\":{\"co_ppm\":1}}");
            await publisher.PublishAsync(root + "/kukes/t01/gas/gas-0001", new byte[] { 0xFF, 0x00 });
        }
        Assert.Equal(0, await recording);
        var captured = FeedFile.Read(file).ToList();
        Assert.Equal(2, captured.Count);
        Assert.Equal("{\"values\":{\"co_ppm\":1}}", Encoding.UTF8.GetString(captured[0].Payload));
        Assert.Equal(new byte[] { 0xFF, 0x00 }, captured[1].Payload);
        Assert.True(captured[1].OffsetMs >= captured[0].OffsetMs);
    }

    [Fact]
    public async Task Record_NeedsScenarioOrSubscribe()
    {
        var (code, _, error) = await Cli("record", "--duration", "1m", "--out", "x.jsonl");
        Assert.NotEqual(0, code);
        Assert.Contains("either --scenario FILE", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AtHighSpeed_PublishesTheScenarioWithNoFutureTimestamps()
    {
        var root = UniqueRoot();
        await using var subscriber = await MqttTestClient.ConnectAsync(fixture.Broker.Host, fixture.Broker.Port);
        await subscriber.SubscribeAsync(root + "/#");
        var expected = TestFeeds.Generate("methane-leak", TimeSpan.FromMinutes(2)).Count;
        var (code, output, error) = await Cli("run", "--scenario", TestFeeds.Scenario("methane-leak"), "--speed", "120", "--duration", "2m",
            "--topic-root", root, "--broker", fixture.Endpoint);
        var done = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.True(code == 0, error);
        Assert.Contains($"published {expected:N0} messages", output, StringComparison.Ordinal);
        await Poll.UntilAsync(() => subscriber.Received.Count >= expected, "run's messages");
        Assert.Equal(expected, subscriber.Received.Count);
        var ts = subscriber.Received.SelectMany(m => AllTs(m.Payload.ToArray())).ToList();
        Assert.True(ts.Max() <= done + 50, "nothing stamped in the future");
        Assert.InRange(ts.Min(), done - 125_000, done - 100_000);
    }

    // Faster than real time without --duration the run plays the last day, ending now: an open-ended clock running
    // ahead stamped readings minutes in the future within seconds (the service rejects ts over 5 minutes ahead).
    [Fact]
    public async Task Run_OpenEnded_EndsCleanlyWhenCancelled_AfterFlushing_WithNoFutureTimestamps()
    {
        var root = UniqueRoot();
        await using var subscriber = await MqttTestClient.ConnectAsync(fixture.Broker.Host, fixture.Broker.Port);
        await subscriber.SubscribeAsync(root + "/#");
        using var stop = new CancellationTokenSource();
        var output = new StringWriter();
        var console = TextWriter.Synchronized(output);
        var run = SimulatorCli.InvokeAsync(["run", "--scenario", TestFeeds.Scenario("kukes-baseline"), "--speed", "50", "--topic-root", root, "--broker", fixture.Endpoint],
            console, console, TimeProvider.System, stop.Token);
        await Poll.UntilAsync(() => subscriber.Received.Count >= 50 || run.IsCompleted, "the run to publish");
        await stop.CancelAsync();
        Assert.Equal(0, await run);
        var published = long.Parse(System.Text.RegularExpressions.Regex.Match(output.ToString(), "published ([0-9,]+) messages").Groups[1].Value,
            NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        await Poll.UntilAsync(() => subscriber.Received.Count >= published, "every published message");
        Assert.Equal(published, subscriber.Received.Count);
        var done = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.True(subscriber.Received.SelectMany(m => AllTs(m.Payload.ToArray())).Max() <= done, "nothing stamped in the future");
    }

    // docs/simulator.md: a broker that goes away mid-run ends the run with exit 1 and a one-line message.
    [Fact]
    public async Task Run_BrokerGoesAway_ExitsWithAOneLineMessage()
    {
        var broker = await MosquittoServer.StartAsync();
        var root = UniqueRoot();
        await using var subscriber = await MqttTestClient.ConnectAsync(broker.Host, broker.Port);
        await subscriber.SubscribeAsync(root + "/#");
        var error = new StringWriter();
        var run = SimulatorCli.InvokeAsync(["run", "--scenario", TestFeeds.Scenario("kukes-baseline"), "--speed", "20", "--duration", "1d", "--topic-root", root,
            "--broker", $"{broker.Host}:{broker.Port.ToString(CultureInfo.InvariantCulture)}"], TextWriter.Null, TextWriter.Synchronized(error), TimeProvider.System);
        await Poll.UntilAsync(() => subscriber.Received.Count >= 20 || run.IsCompleted, "the run to publish");
        await broker.DisposeAsync();

        Assert.Equal(SimulatorCli.Failed, await run.WaitAsync(TimeSpan.FromSeconds(60)));
        var text = error.ToString().Trim();
        Assert.DoesNotContain("Unhandled exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_DeliversExactlyTheReadingsAsked_AndReportsTheRate()
    {
        var root = UniqueRoot();
        await using var subscriber = await MqttTestClient.ConnectAsync(fixture.Broker.Host, fixture.Broker.Port);
        await subscriber.SubscribeAsync(root + "/#");
        var (code, output, error) = await Cli("load", "--readings", "2000", "--sensors", "20", "--topic-root", root, "--broker", fixture.Endpoint);
        Assert.True(code == 0, error);
        Assert.Matches(@"published 2,000 readings over 20 sensors in [0-9.]+ s: [0-9,]+ readings/s", output);
        await Poll.UntilAsync(() => subscriber.Received.Count >= 2000, "2000 load messages");
        var received = subscriber.Received.ToList();
        Assert.Equal(2000, received.Count);
        Assert.Equal(20, received.Select(m => m.Topic).Distinct().Count());
        // A point is measurement + tags + time (SPEC §6): 2,000 readings must be 2,000 points, not fewer.
        Assert.Equal(2000, received.Select(m => (m.Topic, AllTs(m.Payload.ToArray()).Single())).Distinct().Count());
        var decoder = new PayloadDecoder(DecodeLimits.Default);
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var sensor in received.GroupBy(m => m.Topic))
        {
            Assert.True(TopicPath.TryParse(sensor.Key, root, out var address, out var why), why);
            var seqs = new List<long>();
            foreach (var m in sensor)
            {
                var readings = new List<Reading>();
                var rejections = new List<Rejection>();
                decoder.Decode(m.Payload.ToArray(), address.Kind, now, readings, rejections);
                Assert.Empty(rejections);
                seqs.Add(Assert.Single(readings).Seq!.Value);
            }
            Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), seqs);
        }
    }

    [Fact]
    public async Task Load_AtARate_TakesAboutTheExpectedTime()
    {
        var (code, output, error) = await Cli("load", "--readings", "300", "--sensors", "10", "--rate", "1000", "--topic-root", UniqueRoot(), "--broker", fixture.Endpoint);
        Assert.True(code == 0, error);
        var seconds = double.Parse(System.Text.RegularExpressions.Regex.Match(output, @"in ([0-9.]+) s").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 0.25, 3);
    }

    [Fact]
    public async Task Load_NoBroker_FailsWithAClearMessage()
    {
        var (code, _, error) = await Cli("load", "--readings", "10", "--sensors", "1", "--broker", $"127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}");
        Assert.Equal(SimulatorCli.Failed, code);
        Assert.Contains("cannot connect to the broker at 127.0.0.1:", error, StringComparison.Ordinal);
    }

    /// <summary>Every ts in a payload (an object or an array of them), as Unix ms.</summary>
    private static List<long> AllTs(byte[] payload)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetString(payload));
        var items = doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList() : [doc.RootElement];
        var result = new List<long>();
        foreach (var item in items)
        {
            Assert.True(Rfc3339.TryParseUnixMs(Encoding.UTF8.GetBytes(item.GetProperty("ts").GetString()!), out var ms));
            result.Add(ms);
        }
        return result;
    }
}
