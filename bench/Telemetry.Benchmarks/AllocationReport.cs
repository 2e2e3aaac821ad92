using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Telemetry.Benchmarks;

/// <summary>
/// `alloc-report TRACE.nettrace [TOP] [TYPE|large]`: what a <c>dotnet-trace collect --profile gc-verbose</c> trace of the
/// service says about allocation — the garbage collections by generation and reason, the sampled bytes per type (small
/// and large-object heap), and the allocating call stacks of one type (or of every large-object allocation).
/// AllocationTick samples about every 100 KB, so the figures are estimates, good for shares and before/after.
/// </summary>
internal static class AllocationReport
{
    public static int Run(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: alloc-report TRACE.nettrace [TOP] [TYPE|large]");
            return 2;
        }
        var top = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 25;
        var stacksOf = args.Length > 2 ? args[2] : "large";
        var small = new Dictionary<string, long>();
        var large = new Dictionary<string, long>();
        var stacks = new Dictionary<string, long>();
        var collections = new SortedDictionary<string, int>();
        using var log = TraceLog.OpenOrConvert(TraceLog.CreateFromEventPipeDataFile(args[0]));
        var source = log.Events.GetSource();
        source.Clr.GCAllocationTick += e =>
        {
            var type = e.TypeName ?? "?";
            var isLarge = e.AllocationKind == GCAllocationKind.Large;
            var bytes = isLarge ? large : small;
            bytes[type] = bytes.GetValueOrDefault(type) + e.AllocationAmount64;
            if (stacksOf == "large" ? isLarge : type == stacksOf)
            {
                var key = Stack(e);
                stacks[key] = stacks.GetValueOrDefault(key) + e.AllocationAmount64;
            }
        };
        source.Clr.GCStart += e =>
        {
            var key = $"gen{e.Depth} {e.Reason} {e.Type}";
            collections[key] = collections.GetValueOrDefault(key) + 1;
        };
        source.Process();

        Console.WriteLine("collections:");
        foreach (var (key, n) in collections)
        {
            Console.WriteLine($"  {n,5} x {key}");
        }
        foreach (var (name, bytes) in new[] { ("small objects", small), ("large-object heap", large) })
        {
            var total = bytes.Values.Sum();
            Console.WriteLine($"{name}: {total / 1e6:F0} MB sampled");
            foreach (var (type, b) in bytes.OrderByDescending(kv => kv.Value).Take(top))
            {
                Console.WriteLine($"  {b / 1e6,8:F1} MB {100.0 * b / total,5:F1} %  {type}");
            }
        }
        Console.WriteLine($"stacks ({stacksOf}):");
        foreach (var (stack, b) in stacks.OrderByDescending(kv => kv.Value).Take(top))
        {
            Console.WriteLine($"  {b / 1e6,8:F1} MB  {stack}");
        }
        return 0;
    }

    // The allocating frames, innermost first, without the async and thread-pool plumbing around them.
    private static string Stack(TraceEvent e)
    {
        var frames = new List<string>();
        for (var f = e.CallStack(); f is not null && frames.Count < 6; f = f.Caller)
        {
            var m = f.CodeAddress.FullMethodName;
            if (string.IsNullOrEmpty(m) || m.Contains("CompilerServices", StringComparison.Ordinal) || m.StartsWith("System.Threading.", StringComparison.Ordinal))
            {
                continue;
            }
            frames.Add(m.Length > 120 ? m[..120] : m);
        }
        return string.Join("\n      <- ", frames);
    }
}
