namespace Telemetry.Contracts;

/// <summary>Why input was quarantined (SPEC §5); the wire name is the <c>reason</c> tag of the <c>rejected</c> measurement.</summary>
public enum RejectionReason : byte
{
    // whole message
    BadTopic,
    MalformedJson,
    PayloadTooLarge,
    UnknownSensor,
    // whole reading
    MissingValues,
    UnknownField,
    InvalidValue,
    InvalidTimestamp,
    FutureTimestamp,
    TooOld,
    // one field
    OutOfRange,
    // InfluxDB refused the point (a field-type conflict, say): quarantined at write time
    WriteRejected,
}

/// <summary>What a rejection throws away.</summary>
public enum RejectionScope : byte
{
    Message,
    Reading,
    Field,
}

public static class RejectionReasons
{
    public static readonly IReadOnlyList<RejectionReason> All = Enum.GetValues<RejectionReason>();

    public static string Name(this RejectionReason reason) => reason switch
    {
        RejectionReason.BadTopic => "bad_topic",
        RejectionReason.MalformedJson => "malformed_json",
        RejectionReason.PayloadTooLarge => "payload_too_large",
        RejectionReason.UnknownSensor => "unknown_sensor",
        RejectionReason.MissingValues => "missing_values",
        RejectionReason.UnknownField => "unknown_field",
        RejectionReason.InvalidValue => "invalid_value",
        RejectionReason.InvalidTimestamp => "invalid_timestamp",
        RejectionReason.FutureTimestamp => "future_timestamp",
        RejectionReason.TooOld => "too_old",
        RejectionReason.OutOfRange => "out_of_range",
        RejectionReason.WriteRejected => "write_rejected",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    public static RejectionScope Scope(this RejectionReason reason) => reason switch
    {
        RejectionReason.BadTopic or RejectionReason.MalformedJson or RejectionReason.PayloadTooLarge
            or RejectionReason.UnknownSensor => RejectionScope.Message,
        RejectionReason.OutOfRange or RejectionReason.WriteRejected => RejectionScope.Field,
        _ => RejectionScope.Reading,
    };
}

/// <summary>One quarantined piece of input: the reason, the field where there is one, and a human-readable detail.</summary>
/// <param name="Reason">Why.</param>
/// <param name="Field">The offending field, or empty.</param>
/// <param name="Detail">What was wrong, for people.</param>
/// <param name="ReadingIndex">Index of the reading inside an array payload; -1 for the whole message or a single object.</param>
public readonly record struct Rejection(RejectionReason Reason, string Field, string Detail, int ReadingIndex = -1);
