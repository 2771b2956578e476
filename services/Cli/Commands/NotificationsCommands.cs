using System.CommandLine;
using System.Globalization;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Notifications.V1;
using Grpc.Core;

namespace Dcis.Crisis.Cli.Commands;

/// <summary><c>crisis notifications status|list</c> (officers, analysts, crisis cell) and
/// <c>crisis inbox watch|read</c> (a registrant's app inbox).</summary>
internal static class NotificationsCommands
{
    public static Command Build(CliContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var command = new Command("notifications", "Delivery of alerts: status counts and delivery lists of a source alert.");
        command.Subcommands.Add(Status(ctx));
        command.Subcommands.Add(List(ctx));
        return command;
    }

    public static Command BuildInbox(CliContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var command = new Command("inbox", "A registrant's app inbox (registrant token with registrant_id).");
        command.Subcommands.Add(Watch(ctx));
        command.Subcommands.Add(Read(ctx));
        return command;
    }

    private static Option<string> SourceOption() => new("--source")
    {
        Description = "App id of the service that asked for the deliveries: consular or advisories.",
        DefaultValueFactory = _ => "consular",
    };

    private static Option<long> VersionOption() => new("--version") { Description = "Only this alert version (default: every version)." };

    private static Command Status(CliContext ctx)
    {
        var alert = new Argument<string>("ALERT") { Description = "Alert id in the source service." };
        var source = SourceOption();
        var version = VersionOption();
        var command = new Command("status", "Delivery counts of an alert by channel and status (no personal data).") { alert, source, version };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = new NotificationsService.NotificationsServiceClient(ctx.Channel(parse, ctx.NotificationsUrl));
            var response = await client.GetDeliveryStatusAsync(new GetDeliveryStatusRequest
            {
                Source = parse.GetValue(source)!,
                SourceAlertId = parse.GetValue(alert)!,
                AlertVersion = parse.GetValue(version),
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ =>
            {
                var rows = response.Counts
                    .Select(c => new[] { Name(c.Channel), Name(c.Status), c.Count.ToString(CultureInfo.InvariantCulture) })
                    .Append(["total", string.Empty, response.Total.ToString(CultureInfo.InvariantCulture)]);
                return (["CHANNEL", "STATUS", "COUNT"], rows);
            });
        }));
        return command;
    }

    private static Command List(CliContext ctx)
    {
        var alert = new Argument<string>("ALERT") { Description = "Alert id in the source service." };
        var source = SourceOption();
        var version = VersionOption();
        var status = new Option<DeliveryStatus>("--status") { Description = "Only deliveries in this status (Queued, Sent, Delivered, Failed, Expired, Cancelled, Read)." };
        var pageSize = new Option<int>("--page-size") { Description = "Page size, 1 to 500.", DefaultValueFactory = _ => 50 };
        var pageToken = new Option<string?>("--page-token") { Description = "Token printed by the previous page." };
        var command = new Command("list", "Deliveries of an alert: recipient ids, channel, status, reason (consular officers, analysts).")
        {
            alert, source, version, status, pageSize, pageToken,
        };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = new NotificationsService.NotificationsServiceClient(ctx.Channel(parse, ctx.NotificationsUrl));
            var response = await client.ListDeliveriesAsync(new ListDeliveriesRequest
            {
                Source = parse.GetValue(source)!,
                SourceAlertId = parse.GetValue(alert)!,
                AlertVersion = parse.GetValue(version),
                Status = parse.GetValue(status),
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? string.Empty,
            }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (
                ["RECIPIENT", "VERSION", "CHANNEL", "STATUS", "ATTEMPTS", "UPDATED", "REASON"],
                response.Deliveries.Select(d => new[]
                {
                    d.RecipientId, d.AlertVersion.ToString(CultureInfo.InvariantCulture), Name(d.Channel), Name(d.Status),
                    d.Attempts.ToString(CultureInfo.InvariantCulture), d.UpdatedAt.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture), d.Reason,
                })));
            if (!string.IsNullOrEmpty(response.NextPageToken) && parse.GetValue(ctx.Output) == OutputFormat.Table)
            {
                Console.WriteLine($"next page: --page-token {response.NextPageToken}");
            }
        }));
        return command;
    }

    private static Command Watch(CliContext ctx)
    {
        var after = new Option<long>("--after") { Description = "Resume after this cursor (0: the whole history)." };
        var command = new Command("watch", "Stream the inbox: history first, then new messages as they arrive (Ctrl+C to stop).") { after };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = new NotificationsService.NotificationsServiceClient(ctx.Channel(parse, ctx.NotificationsUrl));
            using var call = client.WatchInbox(new WatchInboxRequest { AfterCursor = parse.GetValue(after) }, cancellationToken: ct);
            try
            {
                await foreach (var item in call.ResponseStream.ReadAllAsync(ct))
                {
                    var m = item.Message;
                    if (parse.GetValue(ctx.Output) == OutputFormat.Json)
                    {
                        Console.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(m));
                    }
                    else
                    {
                        var read = m.ReadAt is null ? string.Empty : " (read)";
                        Console.WriteLine($"[{m.Cursor}] {m.CreatedAt.ToDateTimeOffset():u} {Name(m.Priority)} {m.Source}/{m.SourceAlertId} v{m.AlertVersion}{read}");
                        Console.WriteLine($"    {m.Subject}");
                        Console.WriteLine($"    {m.Body}");
                        if (!string.IsNullOrEmpty(m.ReplyCode))
                        {
                            Console.WriteLine($"    reply code: {m.ReplyCode}");
                        }
                    }
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                // Ctrl+C.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C.
            }
        }));
        return command;
    }

    private static Command Read(CliContext ctx)
    {
        var cursor = new Argument<long>("CURSOR") { Description = "Cursor of the message, as printed by `crisis inbox watch`." };
        var command = new Command("read", "Mark an inbox message read (a read receipt for the sender).") { cursor };
        command.SetAction((parse, ct) => CliContext.RunAsync(async () =>
        {
            var client = new NotificationsService.NotificationsServiceClient(ctx.Channel(parse, ctx.NotificationsUrl));
            var response = await client.MarkReadAsync(new MarkReadRequest { Cursor = parse.GetValue(cursor) }, cancellationToken: ct);
            ctx.Print(parse, response, _ => (["READ AT"], [[response.ReadAt.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)]]));
        }));
        return command;
    }

    private static string Name(Channel channel) => channel.ToString().ToLowerInvariant();

    private static string Name(DeliveryStatus status) => status.ToString().ToLowerInvariant();

    private static string Name(Priority priority) => priority.ToString().ToUpperInvariant();
}
