using System.Collections.Concurrent;
using Dcis.Crisis.Shared.Errors;

namespace Dcis.Crisis.ThreatLevels.Domain;

/// <summary>
/// Wakes live streams when a change commits. Streams read the changes themselves (from history, by
/// sequence), so a wake-up carries no data and a missed wake-up loses nothing: the pulse only says
/// "look again". Take <see cref="NextPulse"/> before reading, then await it.
/// </summary>
public sealed class ChangeBroadcaster
{
    private TaskCompletionSource _pulse = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A task completed by the next commit.</summary>
    public Task NextPulse => Volatile.Read(ref _pulse).Task;

    /// <summary>Called after a commit: wakes every waiting stream.</summary>
    public void Publish()
    {
        var previous = Interlocked.Exchange(ref _pulse, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}

/// <summary>Bounds the concurrent live streams of each caller.</summary>
public sealed class StreamQuota(int maxPerCaller)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>The bound.</summary>
    public int MaxPerCaller { get; } = maxPerCaller;

    /// <summary>Opens a stream slot for the caller, or throws <see cref="QuotaExceededException"/>.
    /// Dispose the result when the stream ends.</summary>
    public IDisposable Acquire(string subject)
    {
        while (true)
        {
            var current = _open.GetOrAdd(subject, 0);
            if (current >= MaxPerCaller)
            {
                throw new QuotaExceededException($"at most {MaxPerCaller} concurrent change streams per caller");
            }

            if (_open.TryUpdate(subject, current + 1, current))
            {
                return new Slot(this, subject);
            }
        }
    }

    private void Release(string subject)
    {
        while (true)
        {
            var current = _open.GetValueOrDefault(subject);
            if (current <= 1)
            {
                if (_open.TryRemove(new KeyValuePair<string, int>(subject, current)) || current == 0)
                {
                    return;
                }
            }
            else if (_open.TryUpdate(subject, current - 1, current))
            {
                return;
            }
        }
    }

    private sealed class Slot(StreamQuota quota, string subject) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                quota.Release(subject);
            }
        }
    }
}
