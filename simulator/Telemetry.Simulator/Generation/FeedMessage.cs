using Telemetry.Contracts;

namespace Telemetry.Simulator.Generation;

/// <summary>
/// One MQTT message of a feed: when it is sent (milliseconds after the feed's start), where, and the exact bytes.
/// </summary>
/// <param name="Expected">For deliberately malformed messages, the SPEC §5 reason the service must give; null for good readings.</param>
internal readonly record struct FeedMessage(long OffsetMs, string Topic, byte[] Payload, RejectionReason? Expected = null);
