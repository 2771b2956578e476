using System.Diagnostics.Metrics;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared;

namespace Dcis.Crisis.Notifications.Dispatch;

/// <summary>Delivery metrics on the shared meter. Tags are channel and status only: nothing personal.</summary>
internal sealed class NotificationsMetrics
{
    private static readonly Counter<long> Deliveries = CrisisTelemetry.Meter.CreateCounter<long>(
        "crisis.notifications.deliveries", "{delivery}", "Deliveries reaching a status, by channel and status");

    private static readonly Histogram<double> RequestToSent = CrisisTelemetry.Meter.CreateHistogram<double>(
        "crisis.notifications.request_to_sent", "s", "Time from the source's request to the provider accepting the message");

    private long _queueDepth;

    public NotificationsMetrics()
    {
        CrisisTelemetry.Meter.CreateObservableGauge("crisis.notifications.queue_depth", () => Interlocked.Read(ref _queueDepth),
            "{delivery}", "Deliveries queued or in flight");
    }

    public long QueueDepth => Interlocked.Read(ref _queueDepth);

    public void SetQueueDepth(long depth) => Interlocked.Exchange(ref _queueDepth, depth);

    public static void Count(Channel channel, DeliveryStatus status, long n = 1) =>
        Deliveries.Add(n, new KeyValuePair<string, object?>("channel", ChannelName(channel)), new KeyValuePair<string, object?>("status", StatusName(status)));

    public static void Sent(Channel channel, TimeSpan sinceRequest) =>
        RequestToSent.Record(Math.Max(0, sinceRequest.TotalSeconds), new KeyValuePair<string, object?>("channel", ChannelName(channel)));

    private static string ChannelName(Channel channel) => channel switch
    {
        Channel.Email => "email",
        Channel.Sms => "sms",
        Channel.AppInbox => "app_inbox",
        Channel.Webhook => "webhook",
        _ => "none",
    };

    private static string StatusName(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Queued => "queued",
        DeliveryStatus.Sent => "sent",
        DeliveryStatus.Delivered => "delivered",
        DeliveryStatus.Failed => "failed",
        DeliveryStatus.Expired => "expired",
        DeliveryStatus.Cancelled => "cancelled",
        DeliveryStatus.Read => "read",
        _ => "unspecified",
    };
}
