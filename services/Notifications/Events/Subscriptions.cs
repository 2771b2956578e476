using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Notifications.Events;

/// <summary>Every topic notifications consumes, on one screen.</summary>
internal static class Subscriptions
{
    public static WebApplication MapNotificationSubscriptions(this WebApplication app)
    {
        app.MapSubscription<NotificationRequested, NotificationRequestedConsumer>(Topics.NotificationRequested);
        return app;
    }
}
