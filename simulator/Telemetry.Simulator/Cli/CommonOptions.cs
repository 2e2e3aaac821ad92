using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using MQTTnet.Formatter;
using Telemetry.Simulator.Publishing;

namespace Telemetry.Simulator.Cli;

/// <summary>Options shared by several verbs, with parsers that explain what they expect.</summary>
internal static class CommonOptions
{
    public static Option<BrokerEndpoint> Broker() => new("--broker")
    {
        Description = "MQTT broker as HOST:PORT",
        HelpName = "HOST:PORT",
        DefaultValueFactory = _ => BrokerEndpoint.Default,
        CustomParser = r =>
        {
            if (BrokerEndpoint.TryParse(r.Tokens.Single().Value, out var b))
            {
                return b;
            }
            r.AddError($"--broker: '{r.Tokens.Single().Value}' is not HOST:PORT (e.g. 127.0.0.1:1883)");
            return BrokerEndpoint.Default;
        },
    };

    public static Option<string?> TopicRoot() => new("--topic-root")
    {
        Description = "First topic segment (default: the scenario's, else 'tunnels')",
        HelpName = "ROOT",
        Validators =
        {
            r =>
            {
                if (r.Tokens.Count == 1 && !Contracts.TopicPath.IsValidSegment(r.Tokens[0].Value))
                {
                    r.AddError($"--topic-root: '{r.Tokens[0].Value}' is not a valid topic segment");
                }
            },
        },
    };

    public static Option<int> Seed() => new("--seed")
    {
        Description = "Seed of all randomness: the same scenario and seed give the same feed",
        HelpName = "N",
        DefaultValueFactory = _ => 1,
    };

    public static Option<double> Speed() => new("--speed")
    {
        Description = "How many times faster than real time ('max': as fast as the broker takes it)",
        HelpName = "X",
        DefaultValueFactory = _ => 1.0,
        CustomParser = r =>
        {
            var text = r.Tokens.Single().Value;
            if (text is "max" or "inf")
            {
                return double.PositiveInfinity;
            }
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && double.IsFinite(x))
            {
                return x;
            }
            r.AddError($"--speed: '{text}' must be a positive number or 'max'");
            return 1;
        },
    };

    public static Option<TimeSpan?> Duration(bool required) => new("--duration")
    {
        Description = "How long, on the scenario's clock: 90s, 10m, 8h, 2d",
        HelpName = "D",
        Required = required,
        CustomParser = ParseDuration,
    };

    public static Option<int> Connections() => new("--connections")
    {
        Description = "Parallel MQTT connections",
        HelpName = "N",
        DefaultValueFactory = _ => new PublisherOptions().Connections,
        Validators = { r => Positive(r, "--connections") },
    };

    public static Option<int> InFlight() => new("--inflight")
    {
        Description = "Unacknowledged QoS 1 publishes per connection (capped by the broker's receive maximum)",
        HelpName = "N",
        DefaultValueFactory = _ => new PublisherOptions().InFlightPerConnection,
        Validators = { r => Positive(r, "--inflight") },
    };

    public static Option<MqttProtocolVersion> Protocol() => new("--protocol")
    {
        Description = "MQTT protocol version: 5 or 3.1.1",
        HelpName = "5|3.1.1",
        DefaultValueFactory = _ => MqttProtocolVersion.V500,
        CustomParser = r => r.Tokens.Single().Value switch
        {
            "5" or "5.0" => MqttProtocolVersion.V500,
            "3.1.1" or "3" => MqttProtocolVersion.V311,
            var other => Fail(r, $"--protocol: '{other}' must be 5 or 3.1.1"),
        },
    };

    private static MqttProtocolVersion Fail(ArgumentResult r, string message)
    {
        r.AddError(message);
        return MqttProtocolVersion.V500;
    }

    private static TimeSpan? ParseDuration(ArgumentResult r)
    {
        var text = r.Tokens.Single().Value;
        if (Durations.TryParse(text, out var d) && d > TimeSpan.Zero)
        {
            return d;
        }
        r.AddError($"--duration: '{text}' is not a duration (write 90s, 10m, 8h or 2d)");
        return null;
    }

    private static void Positive(OptionResult r, string name)
    {
        if (r.Tokens.Count == 1 && (!int.TryParse(r.Tokens[0].Value, CultureInfo.InvariantCulture, out var n) || n < 1))
        {
            r.AddError($"{name} must be a whole number of at least 1");
        }
    }
}
