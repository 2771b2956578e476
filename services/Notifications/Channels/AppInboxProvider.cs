using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Notifications.Storage;

namespace Dcis.Crisis.Notifications.Channels;

/// <summary>The app inbox: the message is stored in the registrant's inbox (unique per delivery, so a
/// resend is a no-op); open WatchInbox streams are woken once the send is recorded.</summary>
internal sealed class AppInboxProvider(DeliveryStore store, TimeProvider clock) : IChannelProvider
{
    public Channel Channel => Channel.AppInbox;

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await store.InsertInboxAsync(message, clock.GetUtcNow(), cancellationToken);
        return SendResult.Ok;
    }
}

/// <summary>Webhooks are delivered by the advisories service's own signed POSTs; here the channel is
/// not configured, so an address on it fails at once and the next address is tried.</summary>
internal sealed class UnconfiguredWebhookProvider : IChannelProvider
{
    public Channel Channel => Channel.Webhook;

    public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken) =>
        Task.FromResult(new SendResult(SendOutcome.Permanent, "webhook channel not configured"));
}
