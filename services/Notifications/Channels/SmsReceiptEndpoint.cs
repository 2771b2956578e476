using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Dispatch;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Notifications.Storage;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Dcis.Crisis.Notifications.Channels;

/// <summary>
/// <c>POST /sms/receipts</c>: the SMS gateway's delivery receipts (DLR), so that an SMS is "delivered" only when the
/// gateway says the handset got it, and one it could not deliver falls back to the person's next address instead of
/// staying "sent" for ever. Body: <c>{"receipts":[{"reference":"…","status":"delivered"|"undelivered","error":"…"}]}</c>,
/// signed as Standard Webhooks say (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>) with the
/// secret shared with the gateway, <c>Notifications:SmsReceiptSecret</c>; without one the endpoint answers 404.
/// Answers 200 <c>{"delivered":n,"failed":n,"fellBack":n,"ignored":n,"later":["reference", …]}</c>: the gateway sends the
/// <c>later</c> ones again in a moment (see <see cref="DeliveryStore.ApplySmsReceiptsAsync"/>); 401 for a bad signature
/// and 400 naming the offending field, both changing nothing.
/// </summary>
internal static class SmsReceiptEndpoint
{
    public const string Path = "/sms/receipts";

    /// <summary>Most receipts in one request: one transaction, and a bound on what one request can hold up.</summary>
    public const int MaxReceipts = 5_000;

    public static WebApplication MapSmsReceipts(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<NotificationsOptions>();
        // Read at start: a secret that is not Standard Webhooks' whsec_<base64> stops the service here, not at the first receipt.
        var verifier = string.IsNullOrEmpty(options.SmsReceiptSecret) ? null : new StandardWebhook(options.SmsReceiptSecret);
        app.MapPost(Path, async (HttpRequest request, DeliveryStore store, DispatchSignal signal, TimeProvider clock, ILoggerFactory loggers,
                CancellationToken cancellationToken) =>
            {
                if (verifier is null)
                {
                    return Results.NotFound(new { error = "SMS delivery receipts are not configured (Notifications:SmsReceiptSecret)" });
                }

                using var reader = new StreamReader(request.Body);
                var body = await reader.ReadToEndAsync(cancellationToken);
                try
                {
                    verifier.Verify(body, request.Headers);
                }
                catch (WebhookVerificationException)
                {
                    return Results.Json(new { error = "webhook-signature does not verify with the receipt secret, or webhook-timestamp is too old" },
                        statusCode: StatusCodes.Status401Unauthorized);
                }

                var (receipts, error) = Parse(body);
                if (receipts is null)
                {
                    return Results.BadRequest(new { error });
                }

                var result = await store.ApplySmsReceiptsAsync(receipts, clock.GetUtcNow(), cancellationToken);
                if (result.FellBack > 0)
                {
                    signal.Notify();
                }

                NotificationsMetrics.Count(Channel.Sms, DeliveryStatus.Delivered, result.Delivered);
                NotificationsMetrics.Count(Channel.Sms, DeliveryStatus.Failed, result.Failed);
                if (result.Ignored > 0)
                {
                    loggers.CreateLogger(typeof(SmsReceiptEndpoint).FullName!).LogInformation(
                        "{Ignored} of {Count} SMS receipts changed nothing (repeats, earlier numbers or unknown references)", result.Ignored, receipts.Count);
                }

                return Results.Ok(new { delivered = result.Delivered, failed = result.Failed, fellBack = result.FellBack, ignored = result.Ignored, later = result.Later });
            })
            .AllowAnonymous()
            .DisableAntiforgery();
        return app;
    }

    /// <summary>The receipts of a body, or the first thing wrong with it, naming the field.</summary>
    internal static (List<SmsReceipt>? Receipts, string? Error) Parse(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("receipts", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return (null, "receipts: an array is required");
            }

            if (list.GetArrayLength() > MaxReceipts)
            {
                return (null, $"receipts: at most {MaxReceipts} in one request");
            }

            var receipts = new List<SmsReceipt>(list.GetArrayLength());
            foreach (var item in list.EnumerateArray())
            {
                var field = $"receipts[{receipts.Count}]";
                if (item.ValueKind != JsonValueKind.Object)
                {
                    return (null, $"{field}: an object is required");
                }

                if (!item.TryGetProperty("reference", out var reference) || reference.ValueKind != JsonValueKind.String || reference.GetString()!.Length == 0)
                {
                    return (null, $"{field}.reference: required");
                }

                if (!item.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.String
                    || status.GetString() is not ("delivered" or "undelivered"))
                {
                    return (null, $"{field}.status: must be \"delivered\" or \"undelivered\"");
                }

                string? error = null;
                if (item.TryGetProperty("error", out var e) && e.ValueKind != JsonValueKind.Null)
                {
                    if (e.ValueKind != JsonValueKind.String)
                    {
                        return (null, $"{field}.error: must be a string");
                    }

                    error = e.GetString();
                }

                receipts.Add(new SmsReceipt(reference.GetString()!, status.GetString() == "delivered", Reason(error)));
            }

            return (receipts, null);
        }
        catch (JsonException ex)
        {
            return (null, $"body: not JSON ({ex.Message})");
        }
    }

    /// <summary>The gateway's reason as stored and published: one short line ("absent subscriber", "expired").</summary>
    private static string Reason(string? error)
    {
        var text = string.IsNullOrWhiteSpace(error) ? "no reason given" : error.ReplaceLineEndings(" ").Trim();
        return text.Length <= 80 ? text : text[..80];
    }
}
