using System.Net;
using System.Net.Sockets;
using System.Text;
using Dcis.Crisis.Sinks;

namespace Dcis.Crisis.MailSink;

/// <summary>Where the SMTP server listens, which recipient domain it refuses (550), and which it accepts but then
/// reports as bounced, as a provider does for a mailbox that turns out not to exist.</summary>
public sealed record SmtpServerOptions(IPAddress Address, int Port, string RejectDomain, string BounceDomain = "bounce.invalid");

/// <summary>
/// A small SMTP server: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffing), RSET, NOOP, QUIT. No AUTH, no
/// TLS: it only listens on loopback for development and tests.
/// </summary>
internal sealed class SmtpServer(SmtpServerOptions options, MailStore store, ILogger<SmtpServer> logger, ReceiptSender? receipts = null) : BackgroundService
{
    private const int MaxMessageBytes = 10 * 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = new TcpListener(options.Address, options.Port);
        listener.Start();
        logger.LogInformation("SMTP sink listening on {Address}:{Port}", options.Address, options.Port);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(stoppingToken);
                _ = Task.Run(() => ServeAsync(client, stoppingToken), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, new UTF8Encoding(false), false, 8192, leaveOpen: true);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 8192, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 mail-sink ESMTP ready");
            string? from = null;
            var to = new List<string>();
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                var verb = (line.Length >= 4 ? line[..4] : line).ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteAsync("250-mail-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 mail-sink");
                        break;
                    case "MAIL":
                        from = Path(line);
                        to.Clear();
                        await writer.WriteLineAsync("250 2.1.0 OK");
                        break;
                    case "RCPT":
                        var rcpt = Path(line);
                        if (from is null)
                        {
                            await writer.WriteLineAsync("503 5.5.1 MAIL first");
                        }
                        else if (rcpt.EndsWith("@" + options.RejectDomain, StringComparison.OrdinalIgnoreCase))
                        {
                            await writer.WriteLineAsync("550 5.1.1 mailbox unavailable");
                        }
                        else
                        {
                            to.Add(rcpt);
                            await writer.WriteLineAsync("250 2.1.5 OK");
                        }

                        break;
                    case "DATA":
                        if (from is null || to.Count == 0)
                        {
                            await writer.WriteLineAsync("503 5.5.1 need MAIL and RCPT");
                            break;
                        }

                        await writer.WriteLineAsync("354 end with <CRLF>.<CRLF>");
                        var raw = await ReadDataAsync(reader, cancellationToken);
                        if (raw is null)
                        {
                            await writer.WriteLineAsync("552 5.3.4 message too big");
                        }
                        else
                        {
                            var (record, duplicate) = store.Add(from, [.. to], raw);
                            await writer.WriteLineAsync(duplicate ? "250 2.0.0 duplicate Message-Id, already stored" : "250 2.0.0 stored");
                            if (receipts is not null && record.MessageId.Length > 0)
                            {
                                receipts.Enqueue(ReceiptReport.Of(record.MessageId,
                                    to.Any(r => r.EndsWith("@" + options.BounceDomain, StringComparison.OrdinalIgnoreCase)) ? "mailbox unavailable" : null));
                            }
                        }

                        from = null;
                        to.Clear();
                        break;
                    case "RSET":
                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "NOOP":
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 5.5.2 command not implemented");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Client went away or shutdown.
        }
    }

    private static async Task<string?> ReadDataAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var raw = new StringBuilder();
        var tooBig = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line == ".")
            {
                return tooBig ? null : raw.ToString();
            }

            if (!tooBig)
            {
                raw.Append(line.StartsWith('.') ? line[1..] : line).Append("\r\n");
                tooBig = raw.Length > MaxMessageBytes;
            }
        }

        return null;
    }

    private static string Path(string line)
    {
        var start = line.IndexOf('<', StringComparison.Ordinal);
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? line[(start + 1)..end] : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }
}
