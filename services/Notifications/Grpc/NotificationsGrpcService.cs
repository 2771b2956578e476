using System.Globalization;
using Dcis.Crisis.Notifications.Dispatch;
using Dcis.Crisis.Notifications.Storage;
using Dcis.Crisis.Notifications.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Security;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Dcis.Crisis.Notifications.Grpc;

/// <summary>Thin gRPC adapter: the app inbox stream and read receipts for registrants; delivery
/// status for consular officers, analysts and the crisis cell.</summary>
internal sealed class NotificationsGrpcService(DeliveryStore store, InboxNotifier notifier, TimeProvider clock)
    : NotificationsService.NotificationsServiceBase
{
    /// <summary>Status counts: consular officers, analysts and the crisis cell (no personal data).</summary>
    public const string StatusPolicy = "notifications-status";

    private const int StreamPage = 200;
    private static readonly TimeSpan StreamPoll = TimeSpan.FromSeconds(5);

    [Authorize(Policy = CrisisPolicies.Registrant)]
    public override async Task WatchInbox(WatchInboxRequest request, IServerStreamWriter<WatchInboxResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        new Validator().Check(request.AfterCursor >= 0, "after_cursor", "must not be negative").ThrowIfInvalid();
        var registrantId = RegistrantOf(context);
        var cursor = request.AfterCursor;
        var ct = context.CancellationToken;
        while (!ct.IsCancellationRequested)
        {
            // Take the wake-up before reading: a message stored after the read still wakes us.
            var wake = notifier.WaitTask(registrantId);
            var rows = await store.ReadInboxAsync(registrantId, cursor, StreamPage, ct);
            foreach (var row in rows)
            {
                await responseStream.WriteAsync(new WatchInboxResponse { Message = ToMessage(row) }, ct);
                cursor = row.Cursor;
            }

            if (rows.Count > 0)
            {
                // Not cancelled with the call: what was written to the stream is marked delivered even
                // when the registrant's app disconnects right after reading it (a CI run caught the last
                // messages of a stream left unmarked that way).
                await store.MarkInboxDeliveredAsync(rows.Where(r => r.ReadAtMs is null).Select(r => r.DeliveryId).ToList(), clock.GetUtcNow(), CancellationToken.None);
            }

            if (rows.Count < StreamPage)
            {
                try
                {
                    await wake.WaitAsync(StreamPoll, ct);
                }
                catch (TimeoutException)
                {
                    // Poll anyway: a message written by another instance has no in-process wake-up.
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    [Authorize(Policy = CrisisPolicies.Registrant)]
    public override async Task<MarkReadResponse> MarkRead(MarkReadRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        new Validator().Check(request.Cursor > 0, "cursor", "is required").ThrowIfInvalid();
        var registrantId = RegistrantOf(context);
        var readAt = await store.MarkReadAsync(registrantId, request.Cursor, clock.GetUtcNow(), context.CancellationToken)
            ?? throw new NotFoundException("inbox message", request.Cursor.ToString(CultureInfo.InvariantCulture));
        return new MarkReadResponse { ReadAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(readAt)) };
    }

    [Authorize(Policy = StatusPolicy)]
    public override async Task<GetDeliveryStatusResponse> GetDeliveryStatus(GetDeliveryStatusRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        new Validator()
            .Required("source", request.Source)
            .Required("source_alert_id", request.SourceAlertId)
            .Check(request.AlertVersion >= 0, "alert_version", "must not be negative")
            .ThrowIfInvalid();
        var counts = await store.CountAsync(request.Source, request.SourceAlertId, request.AlertVersion, context.CancellationToken);
        if (counts.Total == 0)
        {
            throw new NotFoundException("deliveries of alert", request.SourceAlertId);
        }

        var response = new GetDeliveryStatusResponse { Total = counts.Total, LatestVersion = counts.LatestVersion };
        response.Counts.AddRange(counts.Counts.Select(c => new StatusCount { Channel = c.Channel, Status = c.Status, Count = c.Count }));
        return response;
    }

    [Authorize(Policy = CrisisPolicies.Consular)]
    public override async Task<ListDeliveriesResponse> ListDeliveries(ListDeliveriesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        long after = 0;
        new Validator()
            .Required("source", request.Source)
            .Required("source_alert_id", request.SourceAlertId)
            .Check(request.AlertVersion >= 0, "alert_version", "must not be negative")
            .PageSize("page_size", request.PageSize)
            .Check(string.IsNullOrEmpty(request.PageToken) || (long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after) && after > 0),
                "page_token", "is not a token from a previous response")
            .ThrowIfInvalid();
        var size = Validator.EffectivePageSize(request.PageSize);
        var rows = await store.ListAsync(request.Source, request.SourceAlertId, request.AlertVersion, request.Status, after, size + 1, context.CancellationToken);
        var response = new ListDeliveriesResponse();
        response.Deliveries.AddRange(rows.Take(size).Select(r => new Delivery
        {
            RecipientId = r.RecipientId,
            AlertVersion = r.AlertVersion,
            Channel = r.Channel,
            Status = r.Status,
            Reason = r.Reason ?? string.Empty,
            Attempts = r.Attempts,
            UpdatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedAtMs)),
        }));
        if (rows.Count > size)
        {
            response.NextPageToken = rows[size - 1].Id.ToString(CultureInfo.InvariantCulture);
        }

        return response;
    }

    private static string RegistrantOf(ServerCallContext context) =>
        context.GetCaller().RegistrantId ?? throw new AccessDeniedException("the token carries no registrant_id");

    private static InboxMessage ToMessage(InboxRow row)
    {
        var message = new InboxMessage
        {
            Cursor = row.Cursor,
            Source = row.Source,
            SourceAlertId = row.SourceAlertId,
            AlertVersion = row.AlertVersion,
            Priority = row.Priority,
            Language = row.Language,
            Subject = row.Subject,
            Body = row.Body,
            ReplyCode = row.ReplyCode ?? string.Empty,
            CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(row.CreatedAtMs)),
        };
        if (row.ReadAtMs is { } readAt)
        {
            message.ReadAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(readAt));
        }

        return message;
    }
}
