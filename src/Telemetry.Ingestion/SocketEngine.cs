using System.Runtime.CompilerServices;

namespace Telemetry.Ingestion;

/// <summary>
/// The service lets socket completions run their continuations on the socket engine's own threads (the runtime's
/// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c>) instead of handing each one to the thread pool first. On a
/// small box shared with the broker and the database that saves a thread wake-up per socket receive: full-speed
/// publishing of a calm load cost 10-11 CPU-s per 1M readings instead of 14-18 (with the forwarder staying on the
/// engine's thread, see ResilientWriter; BENCHMARKS.md, fourteenth session).
/// <para>
/// The price is a rule: whatever runs after awaiting a socket runs on an engine thread that also serves other
/// sockets (the broker's deliveries among them) until its next real wait, so code that goes on to block for long (an
/// fsync) first comes back to the pool with <see cref="ToThreadPool"/>. Short work may stay: a socket completion
/// handed to the pool runs ahead of the pool's queue, and a hop back to it waits behind everything queued.
/// </para>
/// </summary>
internal static class SocketEngine
{
    /// <summary>The runtime's switch; read once, when the first socket is created.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Turns inline completions on unless the environment already says (<c>0</c> turns them off). Call before the first
    /// socket is created.
    /// </summary>
    public static void UseInlineCompletions()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(InlineCompletionsVariable)))
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }
    }

    /// <summary>
    /// <c>await SocketEngine.ToThreadPool();</c> continues on a thread-pool thread: at once when already on one,
    /// otherwise (on a socket engine's thread) through the pool's queue.
    /// </summary>
    public static ThreadPoolAwaitable ToThreadPool() => default;

    internal readonly struct ThreadPoolAwaitable : ICriticalNotifyCompletion
    {
        public bool IsCompleted => Thread.CurrentThread.IsThreadPoolThread;

        public ThreadPoolAwaitable GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) =>
            ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) =>
            ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }
}
