using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Storage;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Consular.Events;

/// <summary>Every inbound topic of the consular service, on one screen.</summary>
internal static class Subscriptions
{
    public static WebApplication MapConsularSubscriptions(this WebApplication app)
    {
        app.MapSubscription<ThreatLevelChanged, ThreatLevelChangedConsumer>(Topics.ThreatLevelChanged);
        app.MapSubscription<CrisisDeclared, CrisisDeclaredConsumer>(Topics.CrisisDeclared);
        app.MapSubscription<CrisisClosed, CrisisClosedConsumer>(Topics.CrisisClosed);
        app.MapSubscription<NotificationStatusChanged, NotificationStatusChangedConsumer>(Topics.NotificationStatusChanged);
        return app;
    }
}

/// <summary>
/// A level change alerts everyone present in the area when the level actually changed (raise or
/// lower). Stale versions of an assessment are ignored; a redelivery is a no-op (inbox, and the
/// unique cause_event_id of alerts as a backstop).
/// </summary>
internal sealed class ThreatLevelChangedConsumer(SqliteDatabase database, AlertStore alerts, Outbox outbox) : IEventConsumer<ThreatLevelChanged>
{
    public const string Name = "consular.threat-level-changed";

    public async Task HandleAsync(ThreatLevelChanged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        var eventId = string.IsNullOrEmpty(message.EventId) ? context.Id : message.EventId;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        if (!await Inbox.TryRecordAsync(tx, Name, eventId, cancellationToken)
            || !await VersionStore.TryAdvanceAsync(connection, tx, "assessment_versions", "assessment_id", message.AssessmentId, message.Version, cancellationToken))
        {
            await tx.CommitAsync(cancellationToken);
            return;
        }

        if (message.NewLevel != message.PreviousLevel && message.Area is { CountryCode.Length: 2 })
        {
            var (headline, body) = Domain.AlertTexts.ForLevelChange(message);
            await alerts.IssueAutomaticAsync(connection, tx, new AutomaticAlert(
                eventId, message.Area, message.NewLevel, headline, body,
                message.EffectiveTime?.ToDateTimeOffset() ?? message.ChangedAt?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow,
                message.NewLevel >= ThreatLevel.AvoidNonEssential ? Priority.Urgent : Priority.High,
                null, message.Categories.Select(c => c.Category).ToList(), context.TraceParent), cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        outbox.NotifyCommitted();
    }
}

/// <summary>A declared crisis alerts the people present and, when asked, starts a wellbeing check.</summary>
internal sealed class CrisisDeclaredConsumer(SqliteDatabase database, AlertStore alerts, WellbeingStore wellbeing, Outbox outbox) : IEventConsumer<CrisisDeclared>
{
    public const string Name = "consular.crisis-declared";

    public async Task HandleAsync(CrisisDeclared message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        var eventId = string.IsNullOrEmpty(message.EventId) ? context.Id : message.EventId;
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        if (!await Inbox.TryRecordAsync(tx, Name, eventId, cancellationToken)
            || !await VersionStore.TryAdvanceAsync(connection, tx, "crises", "crisis_id", message.CrisisId, message.Version, cancellationToken)
            || message.Area is not { CountryCode.Length: 2 })
        {
            await tx.CommitAsync(cancellationToken);
            return;
        }

        var (headline, body) = Domain.AlertTexts.ForCrisis(message);
        await alerts.IssueAutomaticAsync(connection, tx, new AutomaticAlert(
            eventId, message.Area, message.CountryLevel, headline, body,
            message.StartTime?.ToDateTimeOffset() ?? message.DeclaredAt?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow,
            Priority.Urgent, message.CrisisId, [], context.TraceParent), cancellationToken);
        if (message.StartWellbeingCheck)
        {
            await wellbeing.StartForCrisisAsync(connection, tx, message.CrisisId, message.Area, eventId, context.TraceParent, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        outbox.NotifyCommitted();
    }
}

/// <summary>A closed crisis closes its wellbeing checks (no more reminders or follow-ups).</summary>
internal sealed class CrisisClosedConsumer(SqliteDatabase database) : IEventConsumer<CrisisClosed>
{
    public const string Name = "consular.crisis-closed";

    public async Task HandleAsync(CrisisClosed message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        if (await Inbox.TryRecordAsync(tx, Name, string.IsNullOrEmpty(message.EventId) ? context.Id : message.EventId, cancellationToken)
            && await VersionStore.TryAdvanceAsync(connection, tx, "crises", "crisis_id", message.CrisisId, message.Version, cancellationToken))
        {
            await AlertStore.ExecAsync(connection, tx, "UPDATE crises SET closed = 1 WHERE crisis_id = $c", cancellationToken, ("$c", message.CrisisId));
            await WellbeingStore.CloseForCrisisAsync(connection, tx, message.CrisisId, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
    }
}

/// <summary>Delivery statuses of consular messages update the per-alert counts (status only moves forward).</summary>
internal sealed class NotificationStatusChangedConsumer(SqliteDatabase database) : IEventConsumer<NotificationStatusChanged>
{
    public const string Name = "consular.notification-status-changed";

    public async Task HandleAsync(NotificationStatusChanged message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        if (await Inbox.TryRecordAsync(tx, Name, string.IsNullOrEmpty(message.EventId) ? context.Id : message.EventId, cancellationToken)
            && message.Source == ConsularApp.AppId)
        {
            await AlertStore.ApplyDeliveryAsync(connection, tx, message.Updates, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
    }
}

/// <summary>Latest version seen per assessment or crisis: an older or equal version is stale.</summary>
internal static class VersionStore
{
    public static async Task<bool> TryAdvanceAsync(SqliteConnection connection, SqliteTransaction tx, string table, string key, string id, long version, CancellationToken ct)
    {
        await using var command = connection.Command($"""
            INSERT INTO {table}({key}, version) VALUES ($id, $v)
            ON CONFLICT({key}) DO UPDATE SET version = excluded.version WHERE excluded.version > {table}.version
            """, tx, ("$id", id), ("$v", version));
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }
}
