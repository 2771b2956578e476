using System.Net;
using System.Text;
using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Testing;
using StandardWebhooks;
using static Dcis.Crisis.Notifications.Tests.Harness;

namespace Dcis.Crisis.Notifications.Tests.Dispatch;

/// <summary>
/// Providers' delivery receipts: the SMS sink (as a gateway) and the mail sink (as an e-mail provider) post a signed
/// receipt for each message back to the service, over real HTTP. "Delivered" only on a receipt; "undelivered" (an
/// absent subscriber, a bounce) falls back to the next address.
/// </summary>
public sealed class ReceiptTests
{
    private const string Delivered = "SELECT COUNT(*) FROM deliveries WHERE status = 3 AND channel = 2";

    [Fact]
    public async Task An_Sms_The_Handset_Got_Becomes_Delivered_Once_With_One_Trail_Entry()
    {
        await using var h = await StartAsync(receipts: true);
        await h.IntakeAsync(Request("alert-dlr", SmsRecipients(3), h.Clock.GetUtcNow()));

        Assert.Equal(3, await h.DispatchUntilIdleAsync());

        await Eventually.TrueAsync(async () => await h.ScalarAsync(Delivered) == 3, because: "three receipts reach the service");
        Assert.Equal(3, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail WHERE status = 3 AND channel = 2"));
        await Eventually.TrueAsync(async () => (await h.SmsMessagesAsync()).All(m => m.Receipt == "delivered"), because: "the sink records what it reported");
    }

    [Fact]
    public async Task An_Sms_No_Handset_Answered_Falls_Back_To_The_Next_Address_Or_Fails_With_The_Gateways_Reason()
    {
        await using var h = await StartAsync(receipts: true);
        await h.IntakeAsync(Request("alert-absent",
        [
            Recipient("reg-mail", (Channel.Sms, "+99920000001"), (Channel.Email, "anne@example.org")),
            Recipient("reg-second-number", (Channel.Sms, "+99920000002"), (Channel.Sms, "+33600000002")),
            Recipient("reg-only", (Channel.Sms, "+99920000003")),
        ], h.Clock.GetUtcNow()));

        await h.DispatchUntilAsync(async () => await h.ScalarAsync("SELECT COUNT(*) FROM deliveries WHERE status IN (3, 4) OR channel = 1") == 3,
            "each undelivered SMS moves on, and the second number's SMS is delivered");

        Assert.Equal(["anne@example.org"], Assert.Single(await h.MailMessagesAsync()).To);
        // The e-mail it fell back to is reported delivered by the mail sink in turn.
        await Eventually.TrueAsync(async () => await h.ScalarAsync("SELECT status FROM deliveries WHERE recipient_id = 'reg-mail' AND channel = 1") == (long)DeliveryStatus.Delivered);
        // A second number has its own reference: the gateway does not drop its message as a repeat of the first.
        Assert.Contains(await h.SmsMessagesAsync(), m => m.To == "+33600000002");
        Assert.Equal((long)DeliveryStatus.Delivered, await h.ScalarAsync("SELECT status FROM deliveries WHERE recipient_id = 'reg-second-number'"));
        Assert.Equal((long)DeliveryStatus.Failed, await h.ScalarAsync("SELECT status FROM deliveries WHERE recipient_id = 'reg-only'"));
        Assert.Equal(1, await h.ScalarAsync(
            "SELECT COUNT(*) FROM status_trail t JOIN deliveries d ON d.id = t.delivery_id WHERE d.recipient_id = 'reg-only' AND t.status = 4 AND t.reason = 'sms undelivered: absent subscriber'"));
    }

    [Fact]
    public async Task An_Email_That_Bounces_Falls_Back_To_Sms_And_One_That_Arrives_Is_Delivered()
    {
        await using var h = await StartAsync(receipts: true);
        await h.IntakeAsync(Request("alert-bounce",
        [
            Recipient("reg-bounce", (Channel.Email, "gone@bounce.invalid"), (Channel.Sms, "+33600000009")),
            Recipient("reg-mail", (Channel.Email, "anne@example.org")),
        ], h.Clock.GetUtcNow()));

        await h.DispatchUntilAsync(async () => await h.ScalarAsync("SELECT COUNT(*) FROM deliveries WHERE status = 3") == 2,
            "the bounced e-mail's SMS and the other e-mail are both delivered");

        Assert.Equal((long)Channel.Sms, await h.ScalarAsync("SELECT channel FROM deliveries WHERE recipient_id = 'reg-bounce'"));
        Assert.Equal((long)Channel.Email, await h.ScalarAsync("SELECT channel FROM deliveries WHERE recipient_id = 'reg-mail'"));
        Assert.Equal("+33600000009", Assert.Single(await h.SmsMessagesAsync()).To);
        await Eventually.TrueAsync(async () => (await h.MailMessagesAsync()).Select(m => m.Receipt).Order()
            .SequenceEqual(["delivered", "undelivered: mailbox unavailable"]), because: "the mail sink records what it reported");
    }

    [Fact]
    public async Task A_Receipt_That_Overtakes_The_Record_Of_Its_Send_Is_Answered_Later_Then_Taken_Once()
    {
        var secret = ReceiptSecret;
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsReceiptSecret"] = secret });
        await h.IntakeAsync(Request("alert-race", SmsRecipients(1), h.Clock.GetUtcNow()));
        var claim = Assert.Single(await h.Store.ClaimAsync(Channel.Sms, 10, h.Clock.GetUtcNow(), CancellationToken.None));
        var reference = DeliveryRules.ProviderReference(claim.Message.DeliveryId, claim.AddressIndex, claim.Message.IdempotencyKey);

        var early = await PostAsync(h, secret, Receipts((reference, "delivered")));
        Assert.Equal([reference], early.GetProperty("later").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((long)DeliveryRules.Sending, await h.ScalarAsync("SELECT status FROM deliveries"));

        await h.Store.CompleteAsync([(claim, SendResult.Ok, NextStep.Done, TimeSpan.Zero)], h.Clock.GetUtcNow(), CancellationToken.None);
        var again = await PostAsync(h, secret, Receipts((reference, "delivered")));
        Assert.Equal(1, again.GetProperty("delivered").GetInt32());
        var repeat = await PostAsync(h, secret, Receipts((reference, "delivered"), (reference, "undelivered")));
        Assert.Equal((0, 2), (repeat.GetProperty("delivered").GetInt32(), repeat.GetProperty("ignored").GetInt32()));

        // A reference naming this delivery with another key, or its number before a fallback, is not about this message.
        var forged = DeliveryRules.ProviderReference(claim.Message.DeliveryId, claim.AddressIndex, new string('0', 32));
        var other = DeliveryRules.ProviderReference(claim.Message.DeliveryId, claim.AddressIndex + 1, claim.Message.IdempotencyKey);
        Assert.Equal(3, (await PostAsync(h, secret, Receipts((forged, "undelivered"), (other, "undelivered"), ("not-a-reference", "delivered"))))
            .GetProperty("ignored").GetInt32());
        Assert.Equal((long)DeliveryStatus.Delivered, await h.ScalarAsync("SELECT status FROM deliveries"));
        Assert.Equal(1, await h.ScalarAsync("SELECT COUNT(*) FROM status_trail WHERE status = 3"));
    }

    [Fact]
    public async Task Receipts_Need_The_Gateways_Signature_And_A_Well_Formed_Body_And_Change_Nothing_Otherwise()
    {
        var secret = ReceiptSecret;
        await using var h = await StartAsync(new Dictionary<string, string> { ["Notifications:SmsReceiptSecret"] = secret });
        await h.IntakeAsync(Request("alert-auth", SmsRecipients(1), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();
        var reference = Assert.Single(await h.SmsMessagesAsync()).Reference;
        var body = Receipts((reference, "delivered"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(h, null, body)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(h, "whsec_" + Convert.ToBase64String(new byte[32]), body)).StatusCode);
        var bad = await SendAsync(h, secret, Receipts((reference, "arrived")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("receipts[0].status", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var notJson = await SendAsync(h, secret, "{\"receipts\": [");
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Contains("body", await notJson.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(h, secret, body)).StatusCode);
        Assert.Equal((long)DeliveryStatus.Delivered, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    [Fact]
    public async Task Without_Receipt_Secrets_The_Service_Takes_No_Receipts_And_An_Sms_Stays_Sent()
    {
        await using var h = await StartAsync();
        await h.IntakeAsync(Request("alert-off", SmsRecipients(1), h.Clock.GetUtcNow()));
        await h.DispatchUntilIdleAsync();
        var reference = Assert.Single(await h.SmsMessagesAsync()).Reference;

        var sms = await SendAsync(h, ReceiptSecret, Receipts((reference, "delivered")));
        var email = await SendAsync(h, ReceiptSecret, Receipts((reference, "delivered")), "/email/receipts");

        Assert.Equal(HttpStatusCode.NotFound, sms.StatusCode);
        Assert.Contains("SmsReceiptSecret", await sms.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, email.StatusCode);
        Assert.Contains("EmailReceiptSecret", await email.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal((long)DeliveryStatus.Sent, await h.ScalarAsync("SELECT status FROM deliveries"));
    }

    private static string Receipts(params (string Reference, string Status)[] receipts) =>
        JsonSerializer.Serialize(new { receipts = receipts.Select(r => new { reference = r.Reference, status = r.Status, error = r.Status == "delivered" ? null : "absent subscriber" }) });

    private static async Task<JsonElement> PostAsync(Harness h, string secret, string body)
    {
        using var response = await SendAsync(h, secret, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Posts a body as the gateway does, signed with <paramref name="secret"/> (unsigned when null).</summary>
    private static async Task<HttpResponseMessage> SendAsync(Harness h, string? secret, string body, string path = "/sms/receipts")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(h.Service.HttpAddress, path))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (secret is not null)
        {
            var id = "msg_" + Guid.NewGuid().ToString("N");
            var now = DateTimeOffset.UtcNow;
            request.Headers.Add("webhook-id", id);
            request.Headers.Add("webhook-timestamp", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", new StandardWebhook(secret).Sign(id, now, body));
        }

        return await h.Http.SendAsync(request);
    }
}
