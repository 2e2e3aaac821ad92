using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Telemetry.Benchmarks;

// `latency ...` runs the fixed-rate latency probe used by bench/run.sh; `seed-state` writes a warm alert state file
// (WarmState.cs); `alloc-report TRACE` summarises a gc-verbose trace of the service (AllocationReport.cs); anything
// else goes to BenchmarkDotNet (e.g. `--filter '*'`). A short job, in process (no per-run rebuild: on this 2-core box a rebuild outlasts BDN's
// two-minute build timeout), so a full run takes minutes.
if (args.Length > 0 && args[0] == "latency")
{
    return await LatencyProbe.RunAsync(args[1..]);
}
if (args.Length > 0 && args[0] == "seed-state")
{
    return WarmState.Seed(args[1..]);
}
if (args.Length > 0 && args[0] == "alloc-report")
{
    return AllocationReport.Run(args[1..]);
}
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(Payloads).Assembly).Run(args, config);
return 0;
