namespace Telemetry.Contracts;

/// <summary>The input limits of SPEC §4.</summary>
public sealed record DecodeLimits
{
    public static DecodeLimits Default { get; } = new();

    /// <summary>Largest payload accepted, in bytes (default 256 KiB).</summary>
    public int MaxPayloadBytes { get; init; } = 256 * 1024;

    /// <summary>Most readings in one array payload (default 10,000).</summary>
    public int MaxReadings { get; init; } = 10_000;

    /// <summary>How far ahead of the service clock a <c>ts</c> may be (default 5 minutes).</summary>
    public TimeSpan MaxFuture { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How old a <c>ts</c> may be (default 30 days).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(30);
}
