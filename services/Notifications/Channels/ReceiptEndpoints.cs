using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Dispatch;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Notifications.Storage;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Dcis.Crisis.Notifications.Channels;

/// <summary>
/// Providers' delivery receipts, so that a message is "delivered" only when its provider says the handset or mailbox got
/// it, and one it could not deliver falls back to the person's next address instead of staying "sent" for ever:
/// <c>POST /sms/receipts</c> from the SMS gateway (delivery reports), <c>POST /email/receipts</c> from the e-mail provider
/// (deliveries and bounces). Body: <c>{"receipts":[{"reference":"…","status":"delivered"|"undelivered","error":"…"}]}</c>,
/// where the reference is the SMS's client reference or the e-mail's Message-Id; signed as Standard Webhooks say
/// (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>) with the secret shared with that provider,
/// <c>Notifications:SmsReceiptSecret</c> or <c>Notifications:EmailReceiptSecret</c>; without one the path answers 404.
/// Answers 200 <c>{"delivered":n,"failed":n,"fellBack":n,"ignored":n,"later":["reference", …]}</c>: the provider sends the
/// <c>later</c> ones again in a moment (see <see cref="DeliveryStore.ApplyReceiptsAsync"/>); 401 for a bad signature
/// and 400 naming the offending field, both changing nothing.
/// </summary>
internal static class ReceiptEndpoints
{
    public const string SmsPath = "/sms/receipts";

    public const string EmailPath = "/email/receipts";

    /// <summary>Most receipts in one request: one transaction, and a bound on what one request can hold up.</summary>
    public const int MaxReceipts = 5_000;

    public static WebApplication MapProviderReceipts(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<NotificationsOptions>();
        Map(app, SmsPath, Channel.Sms, options.SmsReceiptSecret, "Notifications:SmsReceiptSecret");
        Map(app, EmailPath, Channel.Email, options.EmailReceiptSecret, "Notifications:EmailReceiptSecret");
        return app;
    }

    private static void Map(WebApplication app, string path, Channel channel, string? secret, string setting)
    {
        // Read at start: a secret that is not Standard Webhooks' whsec_<base64> stops the service here, not at the first receipt.
        var verifier = string.IsNullOrEmpty(secret) ? null : new StandardWebhook(secret);
        app.MapPost(path, async (HttpRequest request, DeliveryStore store, DispatchSignal signal, TimeProvider clock, ILoggerFactory loggers,
                CancellationToken cancellationToken) =>
            {
                if (verifier is null)
                {
                    return Results.NotFound(new { error = $"delivery receipts are not configured here ({setting})" });
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

                var result = await store.ApplyReceiptsAsync(channel, receipts, clock.GetUtcNow(), cancellationToken);
                if (result.FellBack > 0)
                {
                    signal.Notify();
                }

                NotificationsMetrics.Count(channel, DeliveryStatus.Delivered, result.Delivered);
                NotificationsMetrics.Count(channel, DeliveryStatus.Failed, result.Failed);
                if (result.Ignored > 0)
                {
                    loggers.CreateLogger(typeof(ReceiptEndpoints).FullName!).LogInformation(
                        "{Ignored} of {Count} {Channel} receipts changed nothing (repeats, earlier addresses or unknown references)",
                        result.Ignored, receipts.Count, channel);
                }

                return Results.Ok(new { delivered = result.Delivered, failed = result.Failed, fellBack = result.FellBack, ignored = result.Ignored, later = result.Later });
            })
            .AllowAnonymous()
            .DisableAntiforgery();
    }

    /// <summary>The receipts of a body, or the first thing wrong with it, naming the field.</summary>
    internal static (List<ProviderReceipt>? Receipts, string? Error) Parse(string body)
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

            var receipts = new List<ProviderReceipt>(list.GetArrayLength());
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

                receipts.Add(new ProviderReceipt(reference.GetString()!, status.GetString() == "delivered", Reason(error)));
            }

            return (receipts, null);
        }
        catch (JsonException ex)
        {
            return (null, $"body: not JSON ({ex.Message})");
        }
    }

    /// <summary>The provider's reason as stored and published: one short line ("absent subscriber", "mailbox unavailable").</summary>
    private static string Reason(string? error)
    {
        var text = string.IsNullOrWhiteSpace(error) ? "no reason given" : error.ReplaceLineEndings(" ").Trim();
        return text.Length <= 80 ? text : text[..80];
    }
}
