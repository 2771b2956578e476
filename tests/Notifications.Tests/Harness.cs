using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.MailSink;
using Dcis.Crisis.Notifications.Dispatch;
using Dcis.Crisis.Notifications.Events;
using Dcis.Crisis.Notifications.Storage;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.SmsSink;
using Dcis.Crisis.Testing;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Notifications.Tests;

/// <summary>
/// The notifications service on real Kestrel with a real SQLite file, a real SMTP server (the mail
/// sink, over TCP) and the SMS sink over HTTP. By default the dispatcher loop is off and the clock is
/// manual: tests step the dispatcher and move time themselves.
/// </summary>
public sealed class Harness : IAsyncDisposable
{
    private Harness(ServiceHost service, ServiceHost mail, ServiceHost sms, ManualClock clock)
    {
        Service = service;
        Mail = mail;
        Sms = sms;
        Clock = clock;
        Http = new HttpClient();
    }

    public ServiceHost Service { get; }

    public ServiceHost Mail { get; }

    public ServiceHost Sms { get; }

    public ManualClock Clock { get; }

    public HttpClient Http { get; }

    internal Dispatcher Dispatcher => Service.App.Services.GetRequiredService<Dispatcher>();

    internal DeliveryStore Store => Service.App.Services.GetRequiredService<DeliveryStore>();

    internal Housekeeping Housekeeping => Service.App.Services.GetRequiredService<Housekeeping>();

    internal NotificationRequestedConsumer Consumer => Service.App.Services.GetRequiredService<NotificationRequestedConsumer>();

    /// <summary>The secret the SMS and mail sinks sign their delivery receipts with when a harness is started with <c>receipts</c>.</summary>
    public static readonly string ReceiptSecret = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Starts the harness. With <paramref name="receipts"/> the SMS and mail sinks post a delivery receipt for each
    /// message to the service, signed with <see cref="ReceiptSecret"/>, which the service is given for both.</summary>
    public static async Task<Harness> StartAsync(IReadOnlyDictionary<string, string>? settings = null, bool dispatcherLoop = false, int? httpPort = null,
        Action<IServiceCollection>? services = null, bool receipts = false)
    {
        var smtpPort = FreePort.Next();
        var mailSettings = new Dictionary<string, string> { ["SMTP_PORT"] = smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var smsSettings = new Dictionary<string, string>();
        if (receipts)
        {
            httpPort ??= FreePort.Next();
            mailSettings["MailSink:ReceiptUrl"] = $"http://127.0.0.1:{httpPort}/email/receipts";
            mailSettings["MailSink:ReceiptSecret"] = ReceiptSecret;
            smsSettings["SmsSink:ReceiptUrl"] = $"http://127.0.0.1:{httpPort}/sms/receipts";
            smsSettings["SmsSink:ReceiptSecret"] = ReceiptSecret;
        }

        var mail = await ServiceHost.StartAsync(MailSinkApp.Create, mailSettings);
        var sms = await ServiceHost.StartAsync(SmsSinkApp.Create, smsSettings);
        var clock = new ManualClock();
        var all = new Dictionary<string, string>
        {
            ["Notifications:DispatcherEnabled"] = dispatcherLoop ? "true" : "false",
            ["Notifications:SmtpPort"] = smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Notifications:SmsGatewayUrl"] = new Uri(sms.HttpAddress, "/api/sms").ToString(),
            ["Notifications:RetryBaseDelay"] = "00:00:02",
            ["Notifications:StatusFlushInterval"] = "00:01:00",
        };
        if (receipts)
        {
            all["Notifications:SmsReceiptSecret"] = ReceiptSecret;
            all["Notifications:EmailReceiptSecret"] = ReceiptSecret;
        }

        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            all[k] = v;
        }

        var service = await ServiceHost.StartAsync(
            args => NotificationsApp.Create(args, s =>
            {
                if (!dispatcherLoop)
                {
                    s.AddSingleton<TimeProvider>(clock);
                }

                services?.Invoke(s);
            }),
            all,
            httpPort: httpPort);
        return new Harness(service, mail, sms, clock);
    }

    /// <summary>Runs dispatcher passes until one sends nothing.</summary>
    public async Task<int> DispatchUntilIdleAsync()
    {
        var total = 0;
        for (var i = 0; i < 1000; i++)
        {
            var n = await Dispatcher.RunOnceAsync(CancellationToken.None);
            if (n == 0)
            {
                return total;
            }

            total += n;
        }

        return total;
    }

    /// <summary>Steps the dispatcher until <paramref name="done"/> holds: for outcomes that need more sending after
    /// something arrives over the network (a receipt that moves a delivery to its next address).</summary>
    public Task DispatchUntilAsync(Func<Task<bool>> done, string because) =>
        Eventually.TrueAsync(async () =>
        {
            await DispatchUntilIdleAsync();
            return await done();
        }, because: because);

    public Task IntakeAsync(NotificationRequested request) =>
        Consumer.HandleAsync(request, new IncomingEvent(request.EventId, NotificationRequested.Descriptor.FullName, Topics.NotificationRequested, null), CancellationToken.None);

    public async Task<List<SmsRecord>> SmsMessagesAsync() =>
        (await Http.GetFromJsonAsync<List<SmsRecord>>(new Uri(Sms.HttpAddress, "/api/messages?limit=100000")))!;

    public async Task<SmsStats> SmsStatsAsync() =>
        (await Http.GetFromJsonAsync<SmsStats>(new Uri(Sms.HttpAddress, "/api/stats")))!;

    public async Task<List<MailRecord>> MailMessagesAsync() =>
        (await Http.GetFromJsonAsync<List<MailRecord>>(new Uri(Mail.HttpAddress, "/api/messages?limit=100000")))!;

    /// <summary>Reads a scalar from the service's SQLite file (white-box checks).</summary>
    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Service.DataDir, "notifications.db")}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static NotificationRequested Request(string alertId, IEnumerable<Recipient> recipients, DateTimeOffset now,
        long version = 1, Priority priority = Priority.Routine, TimeSpan? expiresIn = null, string source = "consular")
    {
        var request = new NotificationRequested
        {
            EventId = Guid.NewGuid().ToString(),
            Source = source,
            SourceAlertId = alertId,
            AlertVersion = version,
            BatchIndex = 0,
            BatchCount = 1,
            Priority = priority,
            ExpiresAt = Timestamp.FromDateTimeOffset(now + (expiresIn ?? TimeSpan.FromHours(6))),
            RequestedAt = Timestamp.FromDateTimeOffset(now),
            Action = NotificationAction.Deliver,
        };
        request.Recipients.AddRange(recipients);
        request.Messages.Add(new LocalizedMessage { Language = Language.Fr, Subject = "Alerte", Body = "Restez chez vous." });
        request.Messages.Add(new LocalizedMessage { Language = Language.En, Subject = "Alert", Body = "Stay at home." });
        return request;
    }

    public static Recipient Recipient(string id, params (Channel Channel, string Address)[] addresses)
    {
        var recipient = new Recipient { RecipientId = id, Language = Language.Fr };
        recipient.Addresses.AddRange(addresses.Select(a => new ChannelAddress { Channel = a.Channel, Address = a.Address }));
        return recipient;
    }

    public static IEnumerable<Recipient> SmsRecipients(int count, string prefix = "reg", string numberPrefix = "+3361") =>
        Enumerable.Range(0, count).Select(i => Recipient($"{prefix}-{i}", (Channel.Sms, $"{numberPrefix}{i:D7}")));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Service.DisposeAsync();
        await Mail.DisposeAsync();
        await Sms.DisposeAsync();
    }
}
