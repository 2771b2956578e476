using System.Net;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;

namespace Dcis.Crisis.Notifications.Channels;

/// <summary>
/// SMS through an HTTP gateway: POST {to, text, reference}. The reference (<see cref="DeliveryRules.ProviderReference"/>)
/// is the same for every try on one number; gateways (and the local SMS sink) drop a second submission with the same
/// one, and name it on the delivery receipts they post back (<see cref="ReceiptEndpoints"/>).
/// 2xx = accepted; 429 and 5xx = try again later; other 4xx = this number will not work.
/// </summary>
internal sealed class SmsGatewayProvider(IHttpClientFactory httpClients, NotificationsOptions options) : IChannelProvider
{
    public const string HttpClientName = "sms-gateway";
    private const int MaxSmsLength = 480;

    public Channel Channel => Channel.Sms;

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = string.IsNullOrEmpty(message.ReplyCode) ? $"{message.Subject}: {message.Body}" : $"{message.Subject}: {message.Body} Code {message.ReplyCode}";
        if (text.Length > MaxSmsLength)
        {
            text = text[..MaxSmsLength];
        }

        var client = httpClients.CreateClient(HttpClientName);
        try
        {
            using var response = await client.PostAsJsonAsync(options.SmsGatewayUrl,
                new SmsSubmission(message.Address.Value, text, message.ProviderReference), cancellationToken);
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return SendResult.Ok;
            }

            return response.StatusCode == HttpStatusCode.TooManyRequests || code >= 500
                ? new SendResult(SendOutcome.Transient, $"sms gateway {code}")
                : new SendResult(SendOutcome.Permanent, $"sms gateway {code}");
        }
        catch (HttpRequestException ex)
        {
            return new SendResult(SendOutcome.Transient, $"sms gateway unreachable {ex.HttpRequestError}");
        }
    }

    private sealed record SmsSubmission(string To, string Text, string Reference);
}
