using System.Globalization;
using System.Net;
using System.Text;
using Dcis.Crisis.Sinks;

namespace Dcis.Crisis.MailSink;

/// <summary>
/// The mail sink: SMTP on <c>SMTP_PORT</c> (default 2525), HTTP on <c>APP_PORT</c> (default 5420):
/// <c>GET /api/messages</c>, <c>GET /api/messages/{id}</c> (the .eml), <c>GET /api/stats</c>, and an
/// HTML page at <c>/</c>. A second message with a Message-Id already stored is accepted but not stored
/// again (counted as a duplicate). Recipients in the configured reject domain get 550.
/// With <c>MailSink:ReceiptUrl</c> and <c>MailSink:ReceiptSecret</c> it reports each message's fate, as an e-mail
/// provider's delivery and bounce events do (<see cref="ReceiptSender"/>): "undelivered" (mailbox unavailable) for
/// recipients in <c>MailSink:BounceDomain</c> (default bounce.invalid), accepted at SMTP time and bounced afterwards,
/// "delivered" otherwise.
/// </summary>
public static class MailSinkApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        var httpPort = builder.Configuration.GetValue("APP_PORT", 5420);
        var smtpPort = builder.Configuration.GetValue("SMTP_PORT", 2525);
        var bind = IPAddress.Parse(builder.Configuration["BIND_ADDRESS"] ?? "127.0.0.1");
        builder.WebHost.ConfigureKestrel(k => k.Listen(bind, httpPort));
        var dataDir = builder.Configuration["DATA_DIR"] ?? Path.Combine(Directory.GetCurrentDirectory(), ".data");
        var mailDir = Path.Combine(Path.GetFullPath(dataDir), "mail-sink");
        builder.Services.AddSingleton(new MailStore(mailDir));
        builder.Services.AddSingleton(new SmtpServerOptions(bind, smtpPort, builder.Configuration["MailSink:RejectDomain"] ?? "reject.invalid",
            builder.Configuration["MailSink:BounceDomain"] ?? "bounce.invalid"));
        builder.AddReceiptSender("MailSink", sp => sp.GetRequiredService<MailStore>().SetReceipt);
        builder.Services.AddHostedService<SmtpServer>();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, MailJsonContext.Default));

        var app = builder.Build();
        var store = app.Services.GetRequiredService<MailStore>();
        app.MapGet("/api/messages", (string? to, int? limit) => store.List(to, limit ?? 100));
        app.MapGet("/api/messages/{id:long}", (long id) =>
            store.Raw(id) is { } raw ? Results.Text(raw, "message/rfc822") : Results.NotFound());
        app.MapGet("/api/stats", () => store.Stats());
        app.MapGet("/", () => Results.Content(Page(store), "text/html; charset=utf-8"));
        return app;
    }

    private static string Page(MailStore store)
    {
        var stats = store.Stats();
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Mail sink</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>")
            .Append("</head><body><h1>Mail sink</h1>")
            .Append(CultureInfo.InvariantCulture, $"<p>{stats.Messages} messages stored, {stats.Duplicates} duplicates (same Message-Id) ignored. Newest first (last 200).</p>")
            .Append("<table><tr><th>#</th><th>received</th><th>to</th><th>subject</th><th>message</th><th>receipt</th></tr>");
        foreach (var m in store.List(null, 200))
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{m.Id}</td><td>{m.ReceivedAt:u}</td><td>{WebUtility.HtmlEncode(string.Join(", ", m.To))}</td><td>{WebUtility.HtmlEncode(m.Subject)}</td><td><a href=\"/api/messages/{m.Id}\">.eml</a></td><td>{WebUtility.HtmlEncode(m.Receipt ?? "")}</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }
}
