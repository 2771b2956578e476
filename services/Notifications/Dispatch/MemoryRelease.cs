using System.Runtime;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Notifications.Dispatch;

/// <summary>
/// Gives memory back when a burst is over. Notifications works in bursts (a 100,000-recipient alert, then
/// hours of quiet) beside five other services on a small box; what a burst made it hold (idle pooled SQLite
/// connections with their page caches, a grown GC heap, native heap pages SQLite freed but the C allocator
/// kept) is released once the queue is empty and the status trail published, not kept until the next burst.
/// One call per burst: a few milliseconds.
/// </summary>
internal static class MemoryRelease
{
    private static bool _trimUnavailable;
    private static int _releases;

    /// <summary>How many times memory was released since the process started.</summary>
    public static int Releases => Volatile.Read(ref _releases);

    public static void AfterBurst()
    {
        Interlocked.Increment(ref _releases);
        // Idle pooled connections are closed (each holds up to its page cache); the next write opens one again.
        SqliteConnection.ClearAllPools();

        // The documented use of an aggressive collection: the process goes idle, so decommit what the GC can.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        // glibc keeps freed pages of its arenas mapped; malloc_trim returns them (not present on musl or elsewhere).
        if (OperatingSystem.IsLinux() && !_trimUnavailable)
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                _trimUnavailable = true;
            }
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);
}
