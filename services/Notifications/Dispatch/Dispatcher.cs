using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Notifications.Storage;

namespace Dcis.Crisis.Notifications.Dispatch;

/// <summary>
/// Sends queued deliveries: per channel, takes throttle tokens, claims that many due deliveries
/// (priority, then age), marks them 'sending', calls the channel's provider with a timeout, and
/// records the results (sent, retry with backoff, fall back to the next address, failed) in one
/// transaction. Runs as a loop, or one pass at a time from tests driving a manual clock.
/// </summary>
internal sealed class Dispatcher : BackgroundService
{
    private readonly DeliveryStore _store;
    private readonly NotificationsOptions _options;
    private readonly TimeProvider _clock;
    private readonly DispatchSignal _signal;
    private readonly InboxNotifier _inbox;
    private readonly NotificationsMetrics _metrics;
    private readonly ILogger<Dispatcher> _logger;
    private readonly Dictionary<Channel, IChannelProvider> _providers;
    private readonly Dictionary<Channel, TokenBucket> _buckets;
    private readonly SemaphoreSlim _passLock = new(1, 1);
    private DateTimeOffset _lastHousekeeping = DateTimeOffset.MinValue;

    public Dispatcher(DeliveryStore store, NotificationsOptions options, TimeProvider clock, DispatchSignal signal, InboxNotifier inbox,
        NotificationsMetrics metrics, IEnumerable<IChannelProvider> providers, ILogger<Dispatcher> logger)
    {
        _store = store;
        _options = options;
        _clock = clock;
        _signal = signal;
        _inbox = inbox;
        _metrics = metrics;
        _logger = logger;
        _providers = [];
        foreach (var provider in providers)
        {
            _providers[provider.Channel] = provider; // the last registered wins: tests and benchmarks override
        }

        _buckets = _providers.Keys.ToDictionary(c => c, c => new TokenBucket(options.RateFor(c), options.BurstSeconds, clock));
    }

    /// <summary>One pass over every channel; returns the number of provider calls made.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _passLock.WaitAsync(cancellationToken);
        try
        {
            var now = _clock.GetUtcNow();
            if (now - _lastHousekeeping >= TimeSpan.FromSeconds(1))
            {
                _lastHousekeeping = now;
                var expired = await _store.ExpireDueAsync(now, cancellationToken);
                if (expired > 0)
                {
                    NotificationsMetrics.Count(Channel.Unspecified, DeliveryStatus.Expired, expired);
                    _logger.LogInformation("Expired {Count} deliveries before sending", expired);
                }

                _metrics.SetQueueDepth(await _store.QueueDepthAsync(cancellationToken));
            }

            var sent = await Task.WhenAll(_providers.Values.Select(p => RunChannelAsync(p, cancellationToken)));
            return sent.Sum();
        }
        finally
        {
            _passLock.Release();
        }
    }

    private async Task<int> RunChannelAsync(IChannelProvider provider, CancellationToken cancellationToken)
    {
        var bucket = _buckets[provider.Channel];
        var granted = bucket.TryTake(_options.ClaimBatchSize);
        if (granted == 0)
        {
            return 0;
        }

        var claimed = await _store.ClaimAsync(provider.Channel, granted, _clock.GetUtcNow(), cancellationToken);
        bucket.Return(granted - claimed.Count);
        if (claimed.Count == 0)
        {
            return 0;
        }

        // Each result is recorded as soon as the recorder is free, not once the whole claim is sent: a
        // crash (kill -9) between a hand-over and its record makes the message go out again after the
        // restart, so what is sent but unrecorded must stay small — the messages in flight plus one
        // recording transaction's worth — rather than a whole claim.
        var done = System.Threading.Channels.Channel.CreateUnbounded<(ClaimedDelivery Claim, SendResult Result, NextStep Step, TimeSpan RetryDelay)>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });
        var sending = SendAllAsync(provider, claimed, done.Writer, cancellationToken);
        var fallbacks = 0;
        try
        {
            var group = new List<(ClaimedDelivery Claim, SendResult Result, NextStep Step, TimeSpan RetryDelay)>();
            while (await done.Reader.WaitToReadAsync(cancellationToken))
            {
                group.Clear();
                while (group.Count < _options.ClaimBatchSize && done.Reader.TryRead(out var result))
                {
                    group.Add(result);
                }

                fallbacks += await RecordAsync(provider.Channel, group, cancellationToken);
            }
        }
        finally
        {
            // The senders stop on their own (or on cancellation); their failure, if any, surfaced above.
            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (fallbacks > 0)
        {
            _logger.LogInformation("{Count} deliveries fell back from {Channel} to their next address", fallbacks, provider.Channel);
        }

        return claimed.Count;
    }

    private async Task SendAllAsync(IChannelProvider provider, IReadOnlyList<ClaimedDelivery> claimed,
        System.Threading.Channels.ChannelWriter<(ClaimedDelivery Claim, SendResult Result, NextStep Step, TimeSpan RetryDelay)> done, CancellationToken cancellationToken)
    {
        // Each provider call gets its own timeout, on a token source linked to the pass's token. Sources are reused
        // across the claim (reset after a call that did not time out): at most one per call in flight is made per claim,
        // not one per message.
        var timeouts = new System.Collections.Concurrent.ConcurrentStack<CancellationTokenSource>();
        try
        {
            await Parallel.ForEachAsync(claimed,
                new ParallelOptions { MaxDegreeOfParallelism = _options.Concurrency, CancellationToken = cancellationToken },
                async (claim, ct) =>
                {
                    if (!timeouts.TryPop(out var timeout))
                    {
                        timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    }

                    var result = await SendAsync(provider, claim.Message, timeout, cancellationToken);
                    if (timeout.TryReset())
                    {
                        timeouts.Push(timeout);
                    }
                    else
                    {
                        timeout.Dispose();
                    }

                    var step = DeliveryRules.Decide(result, claim.AttemptsOnAddress, claim.AddressIndex, claim.Addresses.Count, _options.MaxAttemptsPerAddress);
                    await done.WriteAsync((claim, result, step, DeliveryRules.Backoff(_options.RetryBaseDelay, claim.AttemptsOnAddress)), ct);
                });
            done.TryComplete();
        }
        catch (Exception ex)
        {
            done.TryComplete(ex);
            throw;
        }
        finally
        {
            while (timeouts.TryPop(out var timeout))
            {
                timeout.Dispose();
            }
        }
    }

    /// <summary>Records one group of results in one transaction, then counts them; returns how many fell back.</summary>
    private async Task<int> RecordAsync(Channel channel, List<(ClaimedDelivery Claim, SendResult Result, NextStep Step, TimeSpan RetryDelay)> group,
        CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        await _store.CompleteAsync(group, now, cancellationToken);
        int fallbacks = 0, sent = 0, failed = 0;
        foreach (var (claim, _, step, _) in group)
        {
            if (step == NextStep.Done)
            {
                sent++;
                NotificationsMetrics.Sent(channel, now - DateTimeOffset.FromUnixTimeMilliseconds(claim.RequestedAtMs));
                if (channel == Channel.AppInbox)
                {
                    _inbox.Notify(claim.Message.Address.Value);
                }
            }
            else if (step == NextStep.Failed)
            {
                failed++;
            }
            else if (step == NextStep.Fallback)
            {
                fallbacks++;
            }
        }

        // Counted once per recorded group, not once per message.
        if (sent > 0)
        {
            NotificationsMetrics.Count(channel, DeliveryStatus.Sent, sent);
        }

        if (failed > 0)
        {
            NotificationsMetrics.Count(channel, DeliveryStatus.Failed, failed);
        }

        return fallbacks;
    }

    /// <summary>One provider call; <paramref name="timeout"/> (linked to <paramref name="cancellationToken"/>) is cancelled
    /// after <see cref="NotificationsOptions.ProviderTimeout"/>.</summary>
    private async Task<SendResult> SendAsync(IChannelProvider provider, OutgoingMessage message, CancellationTokenSource timeout, CancellationToken cancellationToken)
    {
        timeout.CancelAfter(_options.ProviderTimeout);
        try
        {
            return await provider.SendAsync(message, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendResult(SendOutcome.Transient, $"{provider.Channel} provider timeout");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The exception text may quote the address: only its type goes into the reason and the log.
            _logger.LogWarning("Provider {Channel} threw {Exception}", provider.Channel, ex.GetType().Name);
            return new SendResult(SendOutcome.Transient, $"{provider.Channel} provider error {ex.GetType().Name}");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.DispatcherEnabled)
        {
            return;
        }

        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var n = await RunOnceAsync(stoppingToken);
                if (n == 0)
                {
                    // Nothing due, or every bucket empty: intake's signal or the poll (which also refills buckets) wakes us.
                    await _signal.WaitAsync(TimeSpan.FromMilliseconds(100), stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogError(ex, "Dispatcher pass failed; retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    public override void Dispose()
    {
        _passLock.Dispose();
        base.Dispose();
    }
}
