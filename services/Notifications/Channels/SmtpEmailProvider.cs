using System.Collections.Concurrent;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.Domain;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Dcis.Crisis.Notifications.Channels;

/// <summary>
/// E-mail over SMTP (MailKit), reusing connected clients. The Message-Id is the delivery's provider reference
/// (<see cref="DeliveryRules.ProviderReference"/>), so a resend after a crash carries the same id and a deduplicating
/// relay (and every mail client's threading) sees one message, and the provider's bounces lead back to the delivery.
/// </summary>
internal sealed class SmtpEmailProvider(NotificationsOptions options) : IChannelProvider, IAsyncDisposable
{
    private readonly ConcurrentBag<SmtpClient> _idle = [];

    public Channel Channel => Channel.Email;

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var mime = new MimeMessage
        {
            MessageId = $"{message.ProviderReference}@notifications.dcis-crisis",
            Subject = message.Subject,
            Body = new TextPart("plain") { Text = BodyText(message) },
        };
        mime.From.Add(MailboxAddress.Parse(options.SmtpFrom));
        if (!MailboxAddress.TryParse(message.Address.Value, out var to))
        {
            return new SendResult(SendOutcome.Permanent, "invalid e-mail address");
        }

        mime.To.Add(to);
        mime.Headers.Add("X-Dcis-Alert", $"{message.Source}/{message.SourceAlertId}/{message.AlertVersion}");

        SmtpClient? client = null;
        try
        {
            client = await RentAsync(cancellationToken);
            await client.SendAsync(mime, cancellationToken);
            _idle.Add(client);
            client = null;
            return SendResult.Ok;
        }
        catch (SmtpCommandException ex)
        {
            var code = (int)ex.StatusCode;
            return new SendResult(code >= 500 ? SendOutcome.Permanent : SendOutcome.Transient, $"smtp {code} {ex.ErrorCode}");
        }
        catch (Exception ex) when (ex is SmtpProtocolException or ServiceNotConnectedException or IOException or System.Net.Sockets.SocketException or SslHandshakeException)
        {
            return new SendResult(SendOutcome.Transient, $"smtp {ex.GetType().Name}");
        }
        finally
        {
            if (client is not null)
            {
                await DisposeClientAsync(client);
            }
        }
    }

    private static string BodyText(OutgoingMessage message) =>
        string.IsNullOrEmpty(message.ReplyCode) ? message.Body : $"{message.Body}\n\nCode : {message.ReplyCode}";

    private async Task<SmtpClient> RentAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.IsConnected)
            {
                return idle;
            }

            await DisposeClientAsync(idle);
        }

        var client = new SmtpClient();
        try
        {
            await client.ConnectAsync(options.SmtpHost, options.SmtpPort, SecureSocketOptions.None, cancellationToken);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task DisposeClientAsync(SmtpClient client)
    {
        try
        {
            if (client.IsConnected)
            {
                using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.DisconnectAsync(true, quit.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SmtpProtocolException or SmtpCommandException)
        {
            // Best effort: the connection is being dropped anyway.
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var client))
        {
            await DisposeClientAsync(client);
        }
    }
}
