using Dapr;
using Dcis.Crisis.Dashboard.Storage;
using Dcis.Crisis.Dashboard.Browser;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Dashboard.Events;

/// <summary>Every inbound topic of the dashboard: all business topics, and all their dead letters.</summary>
internal static class Subscriptions
{
    public static void MapDashboardSubscriptions(this WebApplication app, int callbackPort)
    {
        var host = $"*:{callbackPort}";
        app.MapSubscription<ThreatLevelChanged, ReadModelProjector>(Topics.ThreatLevelChanged).RequireHost(host);
        app.MapSubscription<CrisisDeclared, ReadModelProjector>(Topics.CrisisDeclared).RequireHost(host);
        app.MapSubscription<CrisisClosed, ReadModelProjector>(Topics.CrisisClosed).RequireHost(host);
        app.MapSubscription<ConsularAlertIssued, ReadModelProjector>(Topics.ConsularAlertIssued).RequireHost(host);
        app.MapSubscription<NotificationRequested, ReadModelProjector>(Topics.NotificationRequested).RequireHost(host);
        app.MapSubscription<WellbeingUpdated, ReadModelProjector>(Topics.WellbeingUpdated).RequireHost(host);
        app.MapSubscription<AdvisoryIssued, ReadModelProjector>(Topics.AdvisoryIssued).RequireHost(host);
        app.MapSubscription<AdvisoryAcknowledged, ReadModelProjector>(Topics.AdvisoryAcknowledged).RequireHost(host);
        app.MapSubscription<NotificationStatusChanged, ReadModelProjector>(Topics.NotificationStatusChanged).RequireHost(host);

        foreach (var topic in Topics.All)
        {
            var deadTopic = Topics.DeadLetter(topic);
            // A dead letter is recorded as it comes: it may not even parse (that is often why it died).
            app.MapPost($"events/{deadTopic}", async (HttpContext http, ReadModelStore store, LiveUpdates live, CancellationToken ct) =>
                {
                    using var reader = new StreamReader(http.Request.Body);
                    var body = await reader.ReadToEndAsync(ct);
                    var id = Header(http, "Cloudevent.id") ?? Guid.NewGuid().ToString();
                    if (await store.RecordDeadLetterAsync(topic, id, Header(http, "Cloudevent.type"), body, ct))
                    {
                        live.Changed(LiveUpdates.Operations);
                    }

                    return Results.Ok();
                })
                .WithTopic(new TopicOptions { PubsubName = Topics.PubSub, Name = deadTopic })
                .AllowAnonymous()
                .AddEndpointFilter(SubscriptionEndpoints.RequireAppToken)
                .RequireHost(host);
        }
    }

    private static string? Header(HttpContext http, string name) =>
        http.Request.Headers.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value.ToString() : null;
}
