using System.Diagnostics.Tracing;

namespace Dcis.Crisis.Advisories.Bench;

/// <summary>
/// The process's GC handle count, as the runtime reports it after each collection (GCHeapStats). A traced
/// run showed it rising ~1,000 a second during back-to-back changes with no gen2 collection in the window;
/// counting after full collections tells a leak (a handle never freed) from garbage that only a gen2
/// collection reclaims.
/// </summary>
internal sealed class GcHandles : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private long _count = -1;
    private int _heapStats;

    /// <summary>Runs a full blocking collection (finalizers included, twice) and returns the handles left.</summary>
    public async Task<long> AfterFullCollectionAsync()
    {
        var seen = Volatile.Read(ref _heapStats);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        // The listener gets the collection's statistics asynchronously.
        for (var i = 0; i < 100 && Volatile.Read(ref _heapStats) < seen + 2; i++)
        {
            await Task.Delay(10);
        }

        return Interlocked.Read(ref _count);
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCHeapStats", StringComparison.Ordinal) != true || eventData.PayloadNames is not { } names)
        {
            return;
        }

        var index = names.IndexOf("GCHandleCount");
        if (index >= 0)
        {
            Interlocked.Exchange(ref _count, Convert.ToInt64(eventData.Payload![index], System.Globalization.CultureInfo.InvariantCulture));
            Interlocked.Increment(ref _heapStats);
        }
    }
}
