using Dcis.Crisis.Dashboard.Storage;
using Dcis.Crisis.Dashboard.Browser;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Dashboard.Events;

/// <summary>Projects every business event into the read models, then tells open pages what changed.</summary>
internal sealed class ReadModelProjector(ReadModelStore store, LiveUpdates live) :
    IEventConsumer<ThreatLevelChanged>, IEventConsumer<CrisisDeclared>, IEventConsumer<CrisisClosed>,
    IEventConsumer<ConsularAlertIssued>, IEventConsumer<NotificationRequested>, IEventConsumer<WellbeingUpdated>,
    IEventConsumer<AdvisoryIssued>, IEventConsumer<AdvisoryAcknowledged>, IEventConsumer<NotificationStatusChanged>
{
    public async Task HandleAsync(ThreatLevelChanged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Map, LiveUpdates.Country(message.Area?.CountryCode), LiveUpdates.Operations);
        }
    }

    public async Task HandleAsync(CrisisDeclared message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Map, LiveUpdates.Country(message.Area?.CountryCode));
        }
    }

    public async Task HandleAsync(CrisisClosed message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Map, LiveUpdates.Country(message.Area?.CountryCode));
        }
    }

    public async Task HandleAsync(ConsularAlertIssued message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Alerts, LiveUpdates.Country(message.Area?.CountryCode));
        }
    }

    public async Task HandleAsync(NotificationRequested message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Alerts);
        }
    }

    public async Task HandleAsync(WellbeingUpdated message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Wellbeing, LiveUpdates.Country(message.CountryCode));
        }
    }

    public async Task HandleAsync(AdvisoryIssued message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Alerts, LiveUpdates.Country(message.Area?.CountryCode));
        }
    }

    public async Task HandleAsync(AdvisoryAcknowledged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Alerts);
        }
    }

    public async Task HandleAsync(NotificationStatusChanged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (await store.ApplyAsync(message, Id(context, message.EventId), cancellationToken))
        {
            live.Changed(LiveUpdates.Alerts);
        }
    }

    // The CloudEvent id is the event id by convention; fall back to the payload's when a sender omitted it.
    private static string Id(IncomingEvent context, string eventId)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!string.IsNullOrEmpty(context.Id))
        {
            return context.Id;
        }

        return string.IsNullOrEmpty(eventId) ? Guid.NewGuid().ToString() : eventId;
    }
}
