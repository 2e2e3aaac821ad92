namespace Telemetry.Simulator.Scenarios;

/// <summary>One problem in a scenario file, located for the person who has to fix it.</summary>
internal sealed record ScenarioError(string File, int Line, int Column, string Reason)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Reason}";
}

/// <summary>A scenario file was refused. Carries every problem found, not just the first, so one edit fixes them all.</summary>
internal sealed class ScenarioException(IReadOnlyList<ScenarioError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ScenarioError> Errors { get; } = errors;
}
