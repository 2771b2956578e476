using System.Collections.Concurrent;
using System.Threading.Channels;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared.Errors;

namespace Dcis.Crisis.Advisories.Delivery;

/// <summary>
/// In-process fan-out of committed advisories to the open WatchAdvisories streams of their
/// company. It is only a wake-up with the payload attached: a stream that falls behind (full
/// buffer) or sees a gap in sequences reads the database, which is the source of truth.
/// </summary>
internal sealed class AdvisoryBroadcaster(AdvisoriesOptions options)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<AdvisorySubscriber, byte>> _subscribers = new(StringComparer.Ordinal);

    public int OpenStreams => _subscribers.Values.Sum(s => s.Count);

    public AdvisorySubscriber Subscribe(string companyId)
    {
        var set = _subscribers.GetOrAdd(companyId, _ => new ConcurrentDictionary<AdvisorySubscriber, byte>());
        if (set.Count >= options.MaxStreamsPerCompany)
        {
            throw new QuotaExceededException($"at most {options.MaxStreamsPerCompany} open advisory streams per company");
        }

        var subscriber = new AdvisorySubscriber(s => set.TryRemove(s, out _));
        set[subscriber] = 0;
        return subscriber;
    }

    /// <summary>Hands committed advisories to their company's streams. Never blocks.</summary>
    public void Publish(IEnumerable<Advisory> advisories)
    {
        foreach (var advisory in advisories)
        {
            if (_subscribers.TryGetValue(advisory.CompanyId, out var set))
            {
                foreach (var subscriber in set.Keys)
                {
                    subscriber.Offer(advisory);
                }
            }
        }
    }
}

/// <summary>One open stream's mailbox.</summary>
internal sealed class AdvisorySubscriber(Action<AdvisorySubscriber> onDispose) : IDisposable
{
    // Synchronous continuations: the stream's writer resumes on the thread that committed the
    // advisory (it has nothing left to do but push), instead of waiting for a thread-pool slot.
    private readonly Channel<Advisory> _channel = Channel.CreateBounded<Advisory>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, AllowSynchronousContinuations = true });

    private int _overflowed;

    public ChannelReader<Advisory> Reader => _channel.Reader;

    /// <summary>True once if advisories were dropped since the last call: the stream must read the database.</summary>
    public bool TakeOverflow() => Interlocked.Exchange(ref _overflowed, 0) == 1;

    public void Offer(Advisory advisory)
    {
        if (!_channel.Writer.TryWrite(advisory))
        {
            Interlocked.Exchange(ref _overflowed, 1);
        }
    }

    public void Dispose() => onDispose(this);
}
