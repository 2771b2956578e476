using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Dispatch;
using Dcis.Crisis.Notifications.Storage;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;

namespace Dcis.Crisis.Notifications.Events;

/// <summary>
/// Intake: one request batch (at most 1,000 recipients) becomes one delivery per recipient in one
/// transaction, together with the inbox record of the event id, so a redelivered batch changes nothing.
/// A CANCEL closes every undelivered delivery of the alert up to its version.
/// </summary>
internal sealed class NotificationRequestedConsumer(DeliveryStore store, DispatchSignal signal, TimeProvider clock,
    ILogger<NotificationRequestedConsumer> logger) : IEventConsumer<NotificationRequested>
{
    public const int MaxRecipients = 1000;

    public async Task HandleAsync(NotificationRequested message, IncomingEvent context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        Validate(message);
        var eventId = string.IsNullOrEmpty(message.EventId) ? context.Id : message.EventId;
        var result = await store.IntakeAsync(message, eventId, clock.GetUtcNow(), cancellationToken);
        if (result.Duplicate)
        {
            logger.LogInformation("Notification request {EventId} already processed", eventId);
            return;
        }

        logger.LogInformation(
            "Notification request {EventId} for {Source}/{AlertId} v{Version} batch {Batch}/{Batches}: {Queued} queued, {Cancelled} cancelled, {Closed} closed at intake",
            eventId, message.Source, message.SourceAlertId, message.AlertVersion, message.BatchIndex + 1, message.BatchCount,
            result.Queued, result.Cancelled, result.Closed);
        if (result.Queued > 0)
        {
            signal.Notify();
        }
    }

    public static void Validate(NotificationRequested message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var validator = new Validator()
            .Required("event_id", message.EventId)
            .Required("source", message.Source)
            .Required("source_alert_id", message.SourceAlertId)
            .Check(message.AlertVersion > 0, "alert_version", "must be positive")
            .Check(message.Recipients.Count <= MaxRecipients, "recipients", $"at most {MaxRecipients} per batch");
        if (message.Action != NotificationAction.Cancel)
        {
            validator
                .Check(message.ExpiresAt is not null, "expires_at", "required")
                .Check(message.Messages.Count > 0, "messages", "at least one message");
            for (var i = 0; i < message.Recipients.Count; i++)
            {
                validator.Required($"recipients[{i}].recipient_id", message.Recipients[i].RecipientId);
            }

            for (var i = 0; i < message.Messages.Count; i++)
            {
                validator
                    .MaxLength($"messages[{i}].subject", message.Messages[i].Subject, 200)
                    .MaxLength($"messages[{i}].body", message.Messages[i].Body, Shared.Hosting.Limits.MaxTextLength);
            }
        }

        validator.ThrowIfInvalid();
    }
}
