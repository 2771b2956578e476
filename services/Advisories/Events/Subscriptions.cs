using Dcis.Crisis.Advisories.Briefing;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Advisories.Events;

/// <summary>Every inbound topic of the advisories service, on one screen.</summary>
internal static class Subscriptions
{
    public static WebApplication MapAdvisoriesSubscriptions(this WebApplication app)
    {
        app.MapSubscription<ThreatLevelChanged, ThreatLevelChangedConsumer>(Topics.ThreatLevelChanged);
        app.MapSubscription<CrisisDeclared, CrisisDeclaredConsumer>(Topics.CrisisDeclared);
        app.MapSubscription<CrisisClosed, CrisisClosedConsumer>(Topics.CrisisClosed);
        app.MapSubscription<ConsularAlertIssued, ConsularAlertIssuedConsumer>(Topics.ConsularAlertIssued);
        app.MapSubscription<NotificationStatusChanged, NotificationStatusChangedConsumer>(Topics.NotificationStatusChanged);
        return app;
    }

    /// <summary>The id to dedupe on: the event's own id, else the CloudEvent id.</summary>
    internal static string EventId(string eventId, IncomingEvent context) =>
        string.IsNullOrEmpty(eventId) ? context.Id : eventId;
}

/// <summary>A level changed: advisories to concerned companies; briefings of the country are refreshed.</summary>
internal sealed class ThreatLevelChangedConsumer(AdvisoryIssuer issuer, BriefingCache briefings) : IEventConsumer<ThreatLevelChanged>
{
    public async Task HandleAsync(ThreatLevelChanged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        briefings.Invalidate(message.Area?.CountryCode);
        var id = Subscriptions.EventId(message.EventId, context);
        await issuer.IssueAsync(AdvisoryTrigger.From(message) with { CauseEventId = id }, "threat-level-changed", id, cancellationToken);
    }
}

/// <summary>A crisis was declared.</summary>
internal sealed class CrisisDeclaredConsumer(AdvisoryIssuer issuer, BriefingCache briefings) : IEventConsumer<CrisisDeclared>
{
    public async Task HandleAsync(CrisisDeclared message, IncomingEvent context, CancellationToken cancellationToken)
    {
        briefings.Invalidate(message.Area?.CountryCode);
        var id = Subscriptions.EventId(message.EventId, context);
        await issuer.IssueAsync(AdvisoryTrigger.From(message) with { CauseEventId = id }, "crisis-declared", id, cancellationToken);
    }
}

/// <summary>A crisis was closed.</summary>
internal sealed class CrisisClosedConsumer(AdvisoryIssuer issuer, BriefingCache briefings) : IEventConsumer<CrisisClosed>
{
    public async Task HandleAsync(CrisisClosed message, IncomingEvent context, CancellationToken cancellationToken)
    {
        briefings.Invalidate(message.Area?.CountryCode);
        var id = Subscriptions.EventId(message.EventId, context);
        await issuer.IssueAsync(AdvisoryTrigger.From(message) with { CauseEventId = id }, "crisis-closed", id, cancellationToken);
    }
}

/// <summary>A consulate issued, updated or cancelled an alert.</summary>
internal sealed class ConsularAlertIssuedConsumer(AdvisoryIssuer issuer) : IEventConsumer<ConsularAlertIssued>
{
    public async Task HandleAsync(ConsularAlertIssued message, IncomingEvent context, CancellationToken cancellationToken)
    {
        var id = Subscriptions.EventId(message.EventId, context);
        await issuer.IssueAsync(AdvisoryTrigger.From(message) with { CauseEventId = id }, "consular-alert-issued", id, cancellationToken);
    }
}

/// <summary>Notifications reports on our e-mails (other sources' reports are ignored).</summary>
internal sealed class NotificationStatusChangedConsumer(AdvisoryStore store) : IEventConsumer<NotificationStatusChanged>
{
    public async Task HandleAsync(NotificationStatusChanged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        if (!string.Equals(message.Source, AdvisoryMessages.Source, StringComparison.Ordinal))
        {
            return;
        }

        await store.RecordContactStatusesAsync(message, "notification-status-changed", Subscriptions.EventId(message.EventId, context), cancellationToken);
    }
}
