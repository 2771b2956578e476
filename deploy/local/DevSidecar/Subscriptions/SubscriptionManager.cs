using System.Net;
using Dcis.Crisis.DevSidecar.PubSub;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>
/// Reads the app's subscriptions (programmatic and declarative), applies component scoping, and runs
/// one Redis consumer per subscription; stops them gracefully (drain in-flight deliveries ≤ 30 s).
/// </summary>
public sealed class SubscriptionManager(
    SidecarOptions options,
    AppChannel channel,
    Publisher publisher,
    Deliverer deliverer,
    ILogger<SubscriptionManager> logger) : IDisposable
{
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abortHandlers = new();
    private readonly List<Task> _consumers = [];

    public IReadOnlyList<SubscriptionSpec> Active { get; private set; } = [];

    /// <summary>Fetches <c>GET /dapr/subscribe</c>: 200 → parse, 404 → none, other → logged, none.</summary>
    public async Task<List<SubscriptionSpec>> FetchProgrammaticAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "dapr/subscribe");
                using var response = await channel.SendAsync(request, cancellationToken);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return [];
                }

                if (!response.IsSuccessStatusCode)
                {
                    logger.LogError("GET /dapr/subscribe answered {Status}; no programmatic subscriptions", (int)response.StatusCode);
                    return [];
                }

                var json = await response.Content.ReadAsStringAsync(cancellationToken);
                return SubscriptionSpec.FromProgrammatic(json, w => logger.LogWarning("{Warning}", w));
            }
            catch (HttpRequestException e) when (attempt < 10)
            {
                logger.LogWarning("GET /dapr/subscribe failed (attempt {Attempt}): {Error}", attempt, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }
    }

    /// <summary>Starts a consumer for each subscription allowed by its component's scopes.</summary>
    public void Start(IEnumerable<SubscriptionSpec> subscriptions)
    {
        var active = new List<SubscriptionSpec>();
        foreach (var subscription in subscriptions)
        {
            if (!publisher.PubSubs.TryGetValue(subscription.PubsubName, out var pubsub))
            {
                logger.LogWarning("Subscription to {Topic}: pubsub {PubSub} is not loaded; skipped", subscription.Topic, subscription.PubsubName);
                continue;
            }

            if (!pubsub.IsAllowed(subscription.Topic, options.AppId, "subscriptionScopes"))
            {
                logger.LogWarning("Subscription to {Topic} on {PubSub} is not allowed for app {AppId}; skipped", subscription.Topic, subscription.PubsubName, options.AppId);
                continue;
            }

            active.Add(subscription);
            logger.LogInformation("Subscribed to {Topic} on {PubSub} ({Type}, routes {Routes}, dead letters {DeadLetter}, {Bulk})",
                subscription.Topic, subscription.PubsubName, subscription.Type,
                string.Join(", ", subscription.Rules.Select(r => (r.Match?.Text ?? "*") + " -> " + r.Path)), subscription.DeadLetterTopic ?? "none",
                subscription.BulkSubscribe is { Enabled: true } b
                    ? $"bulk: up to {b.EffectiveMaxMessagesCount} entries or {b.EffectiveMaxAwait.TotalMilliseconds} ms"
                    : "one entry per request");
            _consumers.Add(Task.Run(() => ConsumeAsync(subscription, pubsub), CancellationToken.None));
        }

        Active = active;
    }

    private async Task ConsumeAsync(SubscriptionSpec subscription, PubSubEntry pubsub)
    {
        try
        {
            if (subscription.BulkSubscribe is { Enabled: true } bulk)
            {
                await pubsub.Component.SubscribeBulkAsync(
                    subscription.Topic,
                    bulk.EffectiveMaxMessagesCount,
                    bulk.EffectiveMaxAwait,
                    (messages, ct) => deliverer.DeliverBulkAsync(subscription, pubsub, messages, ct),
                    _stopReading.Token,
                    _abortHandlers.Token);
                return;
            }

            await pubsub.Component.SubscribeAsync(
                subscription.Topic,
                (message, ct) => deliverer.DeliverAsync(subscription, pubsub, message, ct),
                _stopReading.Token,
                _abortHandlers.Token);
        }
        catch (OperationCanceledException) when (_stopReading.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Consumer of {Topic} on {PubSub} stopped", subscription.Topic, subscription.PubsubName);
        }
    }

    /// <summary>Stops reading, waits up to <paramref name="drain"/> for in-flight deliveries, then aborts them.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        deliverer.BeginShutdown();
        await _stopReading.CancelAsync();
        var all = Task.WhenAll(_consumers);
        if (await Task.WhenAny(all, Task.Delay(drain)) != all)
        {
            logger.LogWarning("In-flight deliveries did not finish within {Drain}; aborting them", drain);
            await _abortHandlers.CancelAsync();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5)));
        }
    }

    public void Dispose()
    {
        _stopReading.Dispose();
        _abortHandlers.Dispose();
    }
}
