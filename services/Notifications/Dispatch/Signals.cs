namespace Dcis.Crisis.Notifications.Dispatch;

/// <summary>Wakes the dispatcher when intake queued new deliveries (coalesced).</summary>
internal sealed class DispatchSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Notify()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _semaphore.Dispose();
}

/// <summary>Wakes open inbox streams of a registrant when a message lands in their inbox. A watcher
/// takes the wait task before reading the inbox, so a message stored in between is never missed.</summary>
internal sealed class InboxNotifier
{
    private readonly Dictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Task WaitTask(string registrantId)
    {
        lock (_lock)
        {
            if (!_waiters.TryGetValue(registrantId, out var tcs))
            {
                tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters[registrantId] = tcs;
            }

            return tcs.Task;
        }
    }

    public void Notify(string registrantId)
    {
        TaskCompletionSource? tcs;
        lock (_lock)
        {
            if (_waiters.Remove(registrantId, out tcs) is false)
            {
                return;
            }
        }

        tcs!.TrySetResult();
    }
}
